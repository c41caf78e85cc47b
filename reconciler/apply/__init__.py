"""The only package that writes: carries out a plan's steps against the account.

`engine` runs the steps in dependency order, in parallel where allowed; `handlers` holds one
function per step type and the `match` that dispatches to them; `context` the ids learned while
applying; `writes` the retry engine that recognises its own work after a lost answer; `wait` the
bounded polls and `apply --wait`.
"""

from reconciler.apply.engine import (
    CRASH_AFTER_OPS_ENV,
    DEFAULT_PARALLELISM,
    ApplyEvent,
    ApplyResult,
    apply_plan,
)
from reconciler.apply.wait import PollSettings
from reconciler.apply.writes import RetryPolicy

__all__ = [
    "CRASH_AFTER_OPS_ENV",
    "DEFAULT_PARALLELISM",
    "ApplyEvent",
    "ApplyResult",
    "PollSettings",
    "RetryPolicy",
    "apply_plan",
]
