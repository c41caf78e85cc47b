"""`reconciler status`: which version of each declared dataset and model the account has, and how
far training is. Read-only (GETs only) and exit 0 whatever the statuses; `--watch` on a terminal
redraws it every `--interval` seconds until Ctrl-C.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from reconciler.commands.invocation import (
    connection_options,
    connection_settings,
    load_desired,
)
from reconciler.commands.one_line_usage import OneLineUsageErrors
from reconciler.connection import ConnectionSettings, open_client
from reconciler.pauses import scaled
from reconciler.secrets import redact
from reconciler.state import DesiredState
from reconciler.workspace import state_dir

if TYPE_CHECKING:
    from reconciler.status.report import StatusReport


def status_report(settings: ConnectionSettings, desired: DesiredState) -> StatusReport:
    """One read of the account, recorded in the training history (the estimates' basis)."""
    from reconciler.status.history import (
        HISTORY_FILE,
        Estimate,
        Sighting,
        TrainingHistory,
        estimate_from,
    )
    from reconciler.status.read import read_projects
    from reconciler.status.report import account_durations, build_report, training_start

    with open_client(settings) as client:
        readings = read_projects(client, desired)
        key = "emulator" if settings.use_emulator else client.base_url
    now = time.time()
    history = TrainingHistory(state_dir() / HISTORY_FILE, key)
    history.record(
        (
            Sighting(
                model.id,
                model.status,
                training_start(model)[0],
                model.training_version or model.training_mode or "",
            )
            for reading in readings
            for model in reading.models
        ),
        now,
    )
    history.save()
    account = account_durations(model for reading in readings for model in reading.models)

    def estimate(training_version: str) -> Estimate:
        """The account's own history (as the plan's budget reads it: `training_hours`); where
        its answers carry no `updated_at` (the reference's do not), what status runs saw."""
        own = estimate_from(account, training_version)
        return own if own.seconds is not None else history.estimate(training_version)

    return build_report(desired, readings, estimate, now)


@click.command(name="status", cls=OneLineUsageErrors)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option("--watch", is_flag=True, help="On a terminal, refresh until Ctrl-C.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds between refreshes.",
)
@connection_options
@click.pass_context
def status(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_format: str,
    watch: bool,
    interval: float,
    api_url: str | None,
    token_file: str | None,
    use_emulator: bool,
) -> None:
    """Show the declared projects, datasets and models as the account has them."""
    from reconciler.status.render import render_json, render_text

    desired = load_desired(paths, show_warnings=False)
    settings = connection_settings(ctx, api_url, token_file, use_emulator)

    def show() -> None:
        report = status_report(settings, desired)
        text = render_json(report) if output_format == "json" else render_text(report)
        click.echo(redact(text))

    if not watch:
        show()
        return
    if not sys.stdout.isatty() or output_format == "json":
        click.echo(
            "status: --watch refreshes only on a terminal, in text format; shown once", err=True
        )
        show()
        return
    try:
        while True:
            click.clear()
            show()
            click.echo(f"(refreshing every {interval:g}s; Ctrl-C to stop)")
            time.sleep(scaled(max(interval, 1.0)))  # pure waiting: the test knob shortens it
    except KeyboardInterrupt:
        ctx.exit(130)  # Ctrl-C exits 130 everywhere (README, issue 10)
