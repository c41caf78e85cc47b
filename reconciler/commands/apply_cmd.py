"""`reconciler apply`: make the account match the manifests (or carry out a saved plan).

Without `--auto-approve` the plan is shown and confirmed on a terminal; with nobody to answer
(stdin not a terminal) apply refuses. `--plan FILE` re-reads the account, refuses a stale plan
(the fingerprint of the live state differs) and otherwise runs exactly the saved steps. One apply
at a time per working directory (a lock under `.reconciler/`); across CI runners, use the CI's
concurrency setting (docs/operations.md). On failure or Ctrl-C the steps in flight finish and the
command lists what was done and what was not (exit 1, or 130 for Ctrl-C).
"""

from __future__ import annotations

import dataclasses
import fcntl
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from reconciler.apply import DEFAULT_PARALLELISM, ApplyResult
from reconciler.apply.wait import TRAINING_WAIT_TIMEOUT, wait_for_training
from reconciler.commands.invocation import (
    connection_options,
    connection_settings,
    enforce_policies,
    load_desired,
    make_plan,
    report_plan_errors,
    spend_options,
    spend_settings,
    strict_option,
    use_color,
)
from reconciler.connection import open_client
from reconciler.errors import ReconcilerError
from reconciler.name_history import remember
from reconciler.naming import parse_versioned_name
from reconciler.policies import for_saved_plan
from reconciler.secrets import redact
from reconciler.state import TRAINING_STATUSES, DesiredState, LiveState, ModelStatus
from reconciler.steps import describe_step
from reconciler.workspace import open_state_file, state_dir

if TYPE_CHECKING:
    from reconciler.plan import Plan

NOT_A_TERMINAL = (
    "refusing to apply without confirmation: stdin is not a terminal; pass --auto-approve"
)


class ApplyCancelled(ReconcilerError):
    """The answer at the prompt was not yes (or there was none): nothing was changed."""


def stdin_is_terminal() -> bool:
    """False when stdin is closed (`<&-`: sys.stdin is None) or not a terminal."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # a closed or broken stream
        return False


def confirm_apply() -> None:
    """Ask on the terminal; only y/yes goes on. No, an empty answer or end of input cancel with
    exit 1 ("Apply cancelled"); Ctrl-C raises KeyboardInterrupt (exit 130)."""
    if not stdin_is_terminal():
        raise ApplyCancelled(NOT_A_TERMINAL)
    click.echo("Apply these changes? [y/N] ", nl=False)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        click.echo()
        raise
    except (ValueError, OSError):
        answer = ""
    if not answer:
        click.echo()
        raise ApplyCancelled("Apply cancelled: no answer (end of input); nothing was changed")
    if answer.strip().lower() not in ("y", "yes"):
        raise ApplyCancelled("Apply cancelled; nothing was changed")


class StalePlan(ReconcilerError):
    """The account changed since the saved plan was made."""


class ApplyIncomplete(ReconcilerError):
    """Some steps failed or were interrupted; the report lists what is left."""


class ApplyLocked(ReconcilerError):
    """Another apply holds the lock of this working directory."""


@contextmanager
def apply_lock() -> Iterator[None]:
    """One apply at a time in this repository (flock; released by the OS if the process dies)."""
    lock_file = state_dir() / "apply.lock"
    with open_state_file("apply.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ApplyLocked(
                f"another apply is running in this repository (lock '{lock_file}' is held); "
                "wait for it to finish, then run apply again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def sigint_sets(
    event: threading.Event,
    notice: str = "finishing the steps in flight, then stopping...",
    also: Callable[[], None] | None = None,
) -> Iterator[None]:
    """While inside, Ctrl-C sets `event` (finish in-flight steps) instead of raising; `also`
    runs too (the client's pacer: requests waiting for the rate limit stop waiting)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        if event.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        click.secho(f"interrupt: {notice}", fg="yellow", err=True)
        event.set()
        if also is not None:
            also()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _report(result: ApplyResult, total: int, calls: int) -> None:
    if result.ok:
        click.secho(
            f"Apply complete: {len(result.done)} steps done in {result.seconds:.1f} s "
            f"({calls} API calls).",
            fg="green",
        )
        return
    click.echo(f"Done ({len(result.done)} of {total} steps):")
    for step in result.done:
        click.echo(f"  + {step.id} {describe_step(step)}")
    for step, message in result.failed:
        click.echo(f"Failed: {step.id} {describe_step(step)}: {redact(message)}")
    click.echo(f"Not done ({len(result.not_done)} steps):")
    for step in result.not_done:
        click.echo(f"  - {step.id} {describe_step(step)}")
    how = "interrupted" if result.interrupted else "stopped after a failure"
    error = ApplyIncomplete(
        f"apply {how}: {len(result.done)} of {total} steps done, "
        f"{len(result.not_done) + len(result.failed)} not done (listed above); run apply again "
        "to finish the job (it re-plans from the account)"
    )
    if result.interrupted:
        error.exit_code = 130
    raise error


def _show(plan: Plan) -> None:
    """Print the plan; stop on its errors or a failed policy, before anything is applied."""
    from reconciler.render import render_text

    click.echo(redact(render_text(plan, use_color())))
    if plan.errors:
        report_plan_errors(plan)
    enforce_policies(plan)


def _say_files_changed(result: ApplyResult, total: int) -> None:
    files = ", ".join(f"'{path}'" for path in result.files_changed)
    click.echo(
        f"{len(result.done)} of {total} steps done; then {files} turned out to differ from the "
        "plan (changed while apply ran, or a stale cached digest): its digest was dropped. "
        "Reading the manifests and the account again and planning again:"
    )


def _record_adoptions(plan: Plan) -> None:
    """Rewrite the adoption locks the plan decided on: only after every step is done (a failed
    apply raised before this), so a lock never claims what the account does not hold."""
    from reconciler.adoption_lock import LockError, write_lock_updates

    try:
        lines = write_lock_updates(plan.lock_updates)
    except (OSError, LockError) as err:
        raise ReconcilerError(
            f"the account was updated, but the adoption lock could not be written: {err}; "
            "run apply again to record it"
        ) from None
    for line in lines:
        click.echo(redact(line))


def _training_models(
    desired: DesiredState | None, live: LiveState, plan: Plan
) -> list[tuple[str, int]]:
    """The current version of each declared model, when it is already training in the account
    (also followed by --wait); a superseded version still training, or one this plan replaces,
    is not waited for."""
    if desired is None:
        return []
    replaced = {
        (change.address.removeprefix("model.").split("/", 1)[0], (change.before or {})["version"])
        for change in plan.changes
        if change.action == "replace" and change.address.startswith("model.")
    }
    declared = {(m.project, m.name) for m in desired.models if not m.delete}
    current: dict[tuple[str, str], tuple[int, str, int, str]] = {}
    for project in live.projects:
        for dataset in project.datasets or ():
            for model in dataset.models:
                parsed = parse_versioned_name(model.name)
                key = (project.project_name, parsed.base) if parsed else None
                if parsed is None or key not in declared or model.status == ModelStatus.DELETED:
                    continue
                candidate = (parsed.version, model.name, model.id, model.status)
                if key not in current or candidate[:3] > current[key][:3]:
                    current[key] = candidate
    return [
        (f"{project}/{name}", model_id)
        for (project, _), (_, name, model_id, status) in sorted(current.items())
        if status in TRAINING_STATUSES and (project, name) not in replaced
    ]


def _load_saved(client: Any, plan_file: str) -> tuple[Plan, LiveState]:
    from reconciler.live import read_for_saved_plan
    from reconciler.plan_file import load_plan

    saved = load_plan(Path(plan_file))
    live = read_for_saved_plan(client, saved.read_scope, saved.fingerprint)
    if live is None:
        raise StalePlan(
            "the saved plan is stale: the account changed since it was made; run plan again "
            f"(plan file '{plan_file}')"
        )
    return saved, live


@click.command(name="apply")  # bad flags exit 1: cli._Group.invoke
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--prune", is_flag=True, help="Also delete undeclared datasets and models.")
@click.option("--wait", "wait_training", is_flag=True, help="Wait for training to finish.")
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0),
    envvar="RECONCILER_WAIT_TIMEOUT",
    default=TRAINING_WAIT_TIMEOUT,
    show_default="4 h; env RECONCILER_WAIT_TIMEOUT",
    help="Seconds to wait for training with --wait.",
)
@click.option(
    "--parallelism",
    type=click.IntRange(min=1, max=64),
    default=DEFAULT_PARALLELISM,
    show_default=True,
    help="API operations run at once.",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False),
    help="Carry out exactly this saved plan (from 'plan --out').",
)
@click.option(
    "--verbose", "-v", is_flag=True, help="One line per step (default: progress every few s)."
)
@strict_option
@spend_options
@connection_options
@click.pass_context
def apply(
    ctx: click.Context,
    paths: tuple[str, ...],
    auto_approve: bool,
    prune: bool,
    wait_training: bool,
    wait_timeout: float,
    parallelism: int,
    plan_file: str | None,
    verbose: bool,
    strict: bool,
    api_url: str | None,
    token_file: str | None,
    use_emulator: bool,
) -> None:
    """Change the account to match the manifests."""
    from reconciler.apply import apply_plan
    from reconciler.commands.flag_rules import check_saved_plan_flags
    from reconciler.commands.progress import ApplyProgress

    # with --plan the saved plan holds everything (PATHS, --prune, --strict, ... are refused)
    check_saved_plan_flags(
        plan_file,
        paths,
        prune=prune,
        strict=strict,
        shapes_plan=bool(ctx.meta.get("spend_keep_superseded") or ctx.meta.get("spend_pricing")),
    )
    settings = connection_settings(ctx, api_url, token_file, use_emulator)
    spend = spend_settings(ctx)
    desired = None if plan_file else load_desired(paths, strict=strict)
    with apply_lock(), open_client(settings) as client:
        if plan_file:
            the_plan, live = _load_saved(client, plan_file)
            policies = for_saved_plan(
                the_plan.policies, spend.rules, the_plan.changes, the_plan.budget, spend.overrides
            )
            the_plan = dataclasses.replace(the_plan, policies=policies)
        else:
            assert desired is not None
            the_plan, live = make_plan(client, desired, prune=prune, spend=spend)
        _show(the_plan)
        started: list[tuple[str, int]] = []
        replanned = False
        while the_plan.has_changes:
            if not auto_approve:
                confirm_apply()
            cancel = threading.Event()
            progress = ApplyProgress(
                the_plan.steps, verbose=verbose, seconds_for=client.pacer.seconds_for
            )
            with sigint_sets(cancel, also=client.pacer.interrupt), progress:
                result = apply_plan(
                    the_plan,
                    client,
                    parallelism=parallelism,
                    on_event=progress.on_event,
                    live=live,
                    cancel=cancel,
                )
            started += result.started_models
            if (
                result.files_changed
                and desired is not None
                and not replanned
                and not result.interrupted
            ):
                # an image changed under apply (its cached digest is dropped): plan again from
                # the files and the account as they are now, once; a saved plan stops instead
                _say_files_changed(result, len(the_plan.steps))
                replanned = True
                desired = load_desired(paths, strict=strict)
                the_plan, live = make_plan(client, desired, prune=prune, spend=spend)
                _show(the_plan)
                continue
            _report(result, len(the_plan.steps), client.stats.requests)
            if started and not wait_training:
                click.echo(
                    f"{len(started)} model(s) started training "
                    f"({the_plan.budget.one_training()} each); 'reconciler plan' "
                    "shows them as training until they finish, or use 'apply --wait'."
                )
            break
        _record_adoptions(the_plan)
        if desired is not None:
            remember(desired)  # applied: Bria now holds the declared names (rename wording)
        if wait_training:
            cancel = threading.Event()
            with sigint_sets(cancel, "stopping the wait (training goes on in Bria)..."):
                wait_for_training(
                    client,
                    started + _training_models(desired, live, the_plan),
                    timeout=wait_timeout,
                    interactive=sys.stdout.isatty(),
                    echo=click.echo,
                    cancel=cancel,
                )
