"""Flags that cannot be used together are refused (as Terraform does), never silently ignored.

Each rule names both flags, says why they conflict and what to do instead; the error exits 1
like every other bad flag (2 means "changes" under --detailed-exitcode).
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import UsageError


class FlagConflict(UsageError):
    """Two flags that contradict each other."""


def check_connection_flags(api_url: str | None, token_file: str | None, emulator: bool) -> None:
    if emulator and api_url:
        raise FlagConflict(
            "--emulator and --api-url cannot be used together: --emulator runs against the "
            "embedded emulator, --api-url against that URL; drop one of them"
        )
    if emulator and token_file:
        raise FlagConflict(
            "--emulator and --token-file cannot be used together: the embedded emulator needs "
            "no token; drop --token-file"
        )


def check_saved_plan_flags(plan_file: str | None, paths: Sequence[str], *, prune: bool,
                           strict: bool, shapes_plan: bool = False) -> None:  # fmt: skip
    """`apply --plan FILE` carries out the saved plan exactly: nothing may change it.
    `shapes_plan`: --keep-superseded or --pricing was given."""
    if not plan_file:
        return
    if paths:
        raise FlagConflict(
            f"--plan and PATHS ({' '.join(paths)}) cannot be used together: a saved plan is "
            "applied exactly as it was made, without reading manifests; drop PATHS, or drop "
            "--plan to plan PATHS again"
        )
    if prune:
        raise FlagConflict(
            "--plan and --prune cannot be used together: the saved plan already decides what is "
            "deleted; make it with 'reconciler plan --prune --out FILE'"
        )
    if strict:
        raise FlagConflict(
            "--plan and --strict cannot be used together: a saved plan reads no manifests; "
            "use --strict when making it ('reconciler plan --strict --out FILE')"
        )
    if shapes_plan:
        raise FlagConflict(
            "--keep-superseded and --pricing shape a plan; with --plan the saved plan already "
            "holds what they decided: make the plan again with them"
        )
