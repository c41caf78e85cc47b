"""`reconciler plan`: read the manifests and the live account, print what apply would do.

Also holds what `plan` and `apply` share on the command line: the connection options, loading
the manifests (diagnostics printed like `validate`), and reading the account into a plan.
With `--detailed-exitcode`: 0 no changes, 2 changes, 1 error (Terraform's convention).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.connection import ConnectionSettings, open_client
from reconciler.errors import ManifestError, ReconcilerError, UsageError
from reconciler.plan_formats import FORMATS, render_plan
from reconciler.secrets import redact
from reconciler.state import DesiredState, LiveState
from reconciler.workspace import cache_dir, emulator_data_dir, ensure_state_dir

if TYPE_CHECKING:
    from reconciler.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])


class PlanHasErrors(ReconcilerError):
    """The plan refuses some changes (e.g. an ip_type change without allowReplace)."""


class ExitOneOnUsageError(click.Command):
    """Bad flags exit 1, not click's 2: with --detailed-exitcode, 2 means "changes"."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as err:
            setattr(err, "exit_code", 1)  # noqa: B010  (a ClassVar in click's stubs)
            raise


def _remember_profile(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    ctx.meta["emulator_profile"] = value


def connection_options(command: F) -> F:
    """--api-url, --token-file, --emulator, --emulator-profile: shared by plan and apply.
    The profile is kept in `ctx.meta` (no parameter), so commands keep their signatures."""
    command = click.option(
        "--emulator-profile",
        type=click.Choice(["reference", "current"]),
        default=None,
        expose_value=False,
        callback=_remember_profile,
        help="With --emulator: the API generation it serves, 'reference' (the contract, default) "
        "or 'current' (Bria's published OpenAPI: training_mode, visual_schema).",
    )(command)
    command = click.option(
        "--emulator",
        "use_emulator",
        is_flag=True,
        help="Run against the embedded emulator (state: .reconciler/emulator at the repository "
        "root); no token.",
    )(command)
    command = click.option(
        "--token-file",
        type=click.Path(dir_okay=False),
        help="Read the API token from this file instead of BRIA_API_TOKEN.",
    )(command)
    command = click.option(
        "--api-url",
        help="API base URL (default: BRIA_API_URL or https://engine.prod.bria-api.com/v1).",
    )(command)
    return command


def connection_settings(
    ctx: click.Context, api_url: str | None, token_file: str | None, use_emulator: bool
) -> ConnectionSettings:
    from reconciler.commands.flag_rules import check_connection_flags

    check_connection_flags(api_url, token_file, use_emulator)
    debug = bool(ctx.find_root().obj and ctx.find_root().obj.get("debug"))
    profile = ctx.meta.get("emulator_profile")
    if profile is not None and not use_emulator:
        raise UsageError(
            "--emulator-profile needs --emulator (it chooses the API the emulator serves)"
        )
    if use_emulator:
        prepare_state_dir()
        click.echo(
            f"Emulator: the account in '{emulator_data_dir()}' (delete it to start empty)",
            err=True,
        )
    return ConnectionSettings(
        api_url=api_url,
        token_file=token_file,
        use_emulator=use_emulator,
        debug=debug,
        emulator_profile=profile or "reference",
    )


def prepare_state_dir() -> None:
    """`.reconciler/` at the repository root, ignoring itself in git (no note printed: output
    stays the same on the first run; `reconciler init` adds the line to .gitignore)."""
    ensure_state_dir()


def strict_option(command: F) -> F:
    """--strict: YAML files that are not manifests are errors instead of skipped."""
    return click.option(
        "--strict",
        is_flag=True,
        help="Fail on YAML files that are not manifests (default: skip and list them).",
    )(command)


def load_desired(
    paths: Sequence[str], *, strict: bool = False, show_warnings: bool = True
) -> DesiredState:
    """Load the manifests; print every diagnostic to stderr; raise when any is an error.
    Without `show_warnings` (status, generate, samples) only errors are printed: warnings are
    for validate and plan."""
    from reconciler.manifest import load_manifests
    from reconciler.manifest.discovery import describe_skipped

    prepare_state_dir()
    result = load_manifests(list(paths) or ["."], cache_dir=cache_dir(), strict=strict)
    if result.skipped and show_warnings:
        click.echo(describe_skipped(result.skipped), err=True)
    errors = 0
    for diagnostic in result.diagnostics:
        is_error = diagnostic.severity == "error"
        errors += is_error
        if not is_error and not show_warnings:
            continue
        click.secho(redact(str(diagnostic)), fg="red" if is_error else "yellow", err=True)
    if not result.ok:
        raise ManifestError(
            f"the manifests have {errors} error{'s' if errors != 1 else ''}; "
            "nothing was read from or changed in the account (fix them, see 'reconciler validate')"
        )
    return result.state


def make_plan(client: Any, desired: DesiredState, *, prune: bool) -> tuple[Plan, LiveState]:
    from reconciler.live import read_live_state
    from reconciler.plan import build_plan

    live = read_live_state(client, desired)
    return build_plan(desired, live, prune=prune), live


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def report_plan_errors(plan: Plan) -> None:
    """Print the refused changes in red and stop with exit 1."""
    for message in plan.errors:
        click.secho(f"error: {redact(message)}", fg="red", err=True)
    count = len(plan.errors)
    raise PlanHasErrors(
        f"the plan has {count} error{'s' if count != 1 else ''} (above); nothing was changed"
    )


@click.command(name="plan", cls=ExitOneOnUsageError)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Save the plan here.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a PR comment, json for machines, html for a visual "
    "review page (one self-contained file; redirect it: > plan.html).",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when no changes, 2 when changes, 1 on error."
)
@click.option("--prune", is_flag=True, help="Also delete undeclared datasets and models.")
@strict_option
@connection_options
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    out_file: str | None,
    output_format: str,
    detailed_exitcode: bool,
    prune: bool,
    strict: bool,
    api_url: str | None,
    token_file: str | None,
    use_emulator: bool,
) -> None:
    """Show what apply would change to make the account match the manifests."""
    from reconciler.plan import save_plan

    settings = connection_settings(ctx, api_url, token_file, use_emulator)
    desired = load_desired(paths, strict=strict)
    with open_client(settings) as client:
        the_plan, _live = make_plan(client, desired, prune=prune)
    click.echo(render_plan(the_plan, output_format, color=use_color()))
    if the_plan.errors:
        report_plan_errors(the_plan)
    if out_file:
        save_plan(the_plan, Path(out_file))
        click.echo(
            f"Saved the plan to {out_file}; carry it out with: reconciler apply --plan {out_file}",
            err=True,
        )
    if detailed_exitcode:
        ctx.exit(2 if the_plan.has_changes else 0)
