"""One knob over every production pause, so tests need not sleep through hours of politeness.

The client's retry backoff, apply's write retries, the polls of waiting steps and `apply --wait`
all pause by the one `Backoff` (reconciler.client.retry_policy), whose every pause is
`scaled(seconds)`; a Retry-After is Bria's word, and is never scaled.
`RECONCILER_TEST_PAUSE_SCALE=0.01` (a test knob of the product, like `RECONCILER_CRASH_AFTER_OPS`)
makes every pause a hundredth as long. It never changes the number of attempts, a deadline or a
timeout, so what a run does is the same, only sooner. Unset, empty or unreadable means 1
(production).
"""

from __future__ import annotations

import os

PAUSE_SCALE_ENV = "RECONCILER_TEST_PAUSE_SCALE"


def pause_scale() -> float:
    """The factor every pause is multiplied by: between 0 and 1, 1 unless the knob is set."""
    raw = os.environ.get(PAUSE_SCALE_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return 1.0
    return min(max(value, 0.0), 1.0)


def scaled(seconds: float) -> float:
    return seconds * pause_scale()
