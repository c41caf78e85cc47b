"""What the commands share on the command line: bad flags exit 1, the connection options and
settings, the state directory, loading the manifests (diagnostics printed like `validate`),
reading the account into a plan, and reporting a plan's refusals.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.connection import ConnectionSettings
from reconciler.errors import ManifestError, ReconcilerError, UsageError
from reconciler.secrets import redact
from reconciler.state import DesiredState, LiveState
from reconciler.workspace import StateDirError, cache_dir, emulator_data_dir, ensure_state_dir

if TYPE_CHECKING:
    from reconciler.plan import Plan, SpendOptions

F = TypeVar("F", bound=Callable[..., Any])
RATE_LIMIT_KEY = "reconciler.rate_limit"
MAX_RATE_WAIT_KEY = "reconciler.max_rate_wait"


class PlanHasErrors(ReconcilerError):
    """The plan refuses some changes (e.g. an ip_type change without allowReplace)."""


def _remember_profile(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    ctx.meta["emulator_profile"] = value


def _rate_limit_option(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Parsed into ctx.meta (not a parameter of each command): `connection_settings` reads it."""
    from reconciler.client.pacing import RateLimitSpecError, parse_rate_limit

    try:
        ctx.meta[RATE_LIMIT_KEY] = parse_rate_limit(value) if value is not None else None
    except RateLimitSpecError as err:
        raise click.BadParameter(str(err)) from None


def _max_rate_wait_option(ctx: click.Context, param: click.Parameter, value: float | None) -> None:
    ctx.meta[MAX_RATE_WAIT_KEY] = value


def connection_options(command: F) -> F:
    """--api-url, --token-file, --emulator, --emulator-profile, --rate-limit, --max-rate-wait:
    shared by plan and apply. The profile and the rate-limit options are kept in `ctx.meta` (no
    parameter), so commands keep their signatures."""
    command = click.option(
        "--max-rate-wait",
        type=click.FloatRange(min=0),
        envvar="BRIA_RATE_LIMIT_MAX_WAIT",
        default=None,
        show_default="120 s; env BRIA_RATE_LIMIT_MAX_WAIT",
        callback=_max_rate_wait_option,
        expose_value=False,
        help="Longest Retry-After to wait for when Bria answers 429 (longer is an error).",
    )(command)
    command = click.option(
        "--rate-limit",
        envvar="BRIA_RATE_LIMIT",
        callback=_rate_limit_option,
        expose_value=False,
        metavar="N|TIER",
        help="Bria's limit, requests per minute per endpoint, or the plan's tier: free (10), "
        "starter (60), pro (1000); env BRIA_RATE_LIMIT. Default: learned from Bria's 429s.",
    )(command)
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
        prepare_state_dir(required=True)
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
        rate_limit=ctx.meta.get(RATE_LIMIT_KEY),
        max_rate_wait=ctx.meta.get(MAX_RATE_WAIT_KEY),
    )


def prepare_state_dir(*, required: bool = False) -> bool:
    """`.reconciler/` at the repository root, ignoring itself in git (no note printed: output
    stays the same on the first run; `reconciler init` adds the line to .gitignore). When it
    cannot be used, `required` raises the clean StateDirError; otherwise one warning says the
    digest cache is off for this run (validate and plan need nothing else from it)."""
    try:
        ensure_state_dir()
    except StateDirError as err:
        if required:
            raise
        click.echo(f"warning: {err}; the digest cache is off for this run", err=True)
        return False
    return True


def strict_option(command: F) -> F:
    """--strict: YAML files and documents that are not manifests are errors, not skipped."""
    return click.option(
        "--strict",
        is_flag=True,
        help="Fail on YAML files and documents that are not manifests (default: skip, list them).",
    )(command)


def load_desired(
    paths: Sequence[str], *, strict: bool = False, show_warnings: bool = True
) -> DesiredState:
    """Load the manifests; print every diagnostic to stderr; raise when any is an error.
    Without `show_warnings` (status, generate, samples) only errors are printed: warnings are
    for validate and plan."""
    from reconciler.manifest import load_manifests
    from reconciler.manifest.discovery import describe_skipped

    usable = prepare_state_dir()
    result = load_manifests(
        list(paths) or ["."], cache_dir=cache_dir() if usable else None, strict=strict
    )
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


def _remember_spend(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    ctx.meta[f"spend_{param.name}"] = value


def spend_options(command: F) -> F:
    """--keep-superseded, --pricing FILE, --override POLICY: shared by plan and apply, kept in
    `ctx.meta` (no parameters) and read by `spend_settings`."""
    command = click.option(
        "--override",
        "override",
        multiple=True,
        metavar="POLICY",
        expose_value=False,
        callback=_remember_spend,
        help="Apply although this soft policy of reconciler.yaml fails (repeatable).",
    )(command)
    command = click.option(
        "--pricing",
        "pricing",
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=_remember_spend,
        help="Training prices (per hour or per training, per training_version) for the budget; "
        "default: the pricing of reconciler.yaml.",
    )(command)
    command = click.option(
        "--keep-superseded",
        "keep_superseded",
        is_flag=True,
        expose_value=False,
        callback=_remember_spend,
        help="Let superseded model versions that are still training run (default: stop them).",
    )(command)
    return command


def spend_settings(ctx: click.Context) -> SpendOptions:
    """The spend options of this command line, with reconciler.yaml's policies and pricing."""
    import time

    from reconciler.plan import SpendOptions
    from reconciler.policies import POLICIES
    from reconciler.spend_config import load_spend_config

    given = ctx.meta.get("spend_override") or ()
    overrides = frozenset(name.strip() for value in given for name in value.split(",") if name)
    unknown = sorted(overrides - set(POLICIES))
    if unknown:
        raise UsageError(
            f"--override '{unknown[0]}' is not a policy (known: {', '.join(POLICIES)})"
        )
    config = load_spend_config(ctx.meta.get("spend_pricing"))
    return SpendOptions(
        keep_superseded=bool(ctx.meta.get("spend_keep_superseded")),
        now=time.time(),
        pricing=config.pricing,
        rules=config.rules,
        overrides=overrides,
    )


class PolicyRefused(ReconcilerError):
    """A hard policy, or a soft one without --override, fails: the plan is refused."""


def enforce_policies(plan: Plan) -> None:
    """Print the policies that refuse the plan in red and stop with exit 1 (none: return)."""
    blocking = plan.blocking_policies
    if not blocking:
        return
    for result in blocking:
        click.secho(f"error: {redact(result.line())}", fg="red", err=True)
    names = ", ".join(f"'{r.name}' ({r.level})" for r in blocking)
    raise PolicyRefused(
        f"the plan fails {'policy' if len(blocking) == 1 else 'policies'} {names} of "
        "reconciler.yaml (above); nothing was changed"
    )


def make_plan(
    client: Any, desired: DesiredState, *, prune: bool, spend: SpendOptions | None = None
) -> tuple[Plan, LiveState]:
    """Read the account as far as the manifests need it, and plan (the scope computed once)."""
    from reconciler.live import read_live_scope
    from reconciler.name_history import read_history, remember
    from reconciler.plan import build_plan
    from reconciler.read_scope import scope_from_desired

    scope = scope_from_desired(desired)
    live = read_live_scope(client, scope)
    the_plan = build_plan(
        desired, live, prune=prune, read_scope=scope, history=read_history(), spend=spend
    )
    if not the_plan.has_changes and not the_plan.errors:
        remember(desired)  # Bria holds exactly the declared names
    return the_plan, live


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


_LOCATION = re.compile(r"^(\S+:\d+:\d+): (.*)$", re.DOTALL)


def located_error(message: str) -> str:
    """`error: ...`, or `file:line:col: error: ...` for a refusal that names where (as
    validate's diagnostics read)."""
    match = _LOCATION.match(message)
    if match is None:
        return f"error: {message}"
    return f"{match.group(1)}: error: {match.group(2)}"


def report_plan_errors(plan: Plan) -> None:
    """Print the refused changes in red and stop with exit 1."""
    for message in plan.errors:
        click.secho(located_error(redact(message)), fg="red", err=True)
    count = len(plan.errors)
    raise PlanHasErrors(
        f"the plan has {count} error{'s' if count != 1 else ''} (above); nothing was changed"
    )
