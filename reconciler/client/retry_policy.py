"""Who retries what, and how long to wait: the one retry policy and the one backoff schedule.

Every call to Bria is retried in exactly one place, so a persistent failure costs a bounded
number of requests (not the client's attempts times the engine's):

* The client (`http.py`) retries what is safe to repeat blindly: every 429 (Bria refused before
  acting; the endpoint pauses for every worker until `Retry-After`, see `pacing.py`), reads and
  PUTs after a 5xx or a lost answer, and any request that surely never left.
* The apply engine retries the rest, the writes that may have acted (a POST or DELETE answered
  5xx or not answered after it left): before each new attempt it re-reads the account to
  recognise its own work. `engine_may_retry` is the complement of `client_may_retry`, so an
  error the client already retried is final for the engine.

`Backoff` is the one schedule (exponential, capped, full jitter for retries so parallel workers
do not retry in step; without jitter for polls): the client's retries, the engine's write
retries, `poll_until` and `apply --wait` all take their pauses from it (each scaled by the
test knob of `reconciler.pauses`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from reconciler.client.errors import BriaError, RateLimited, ServerError, TransportError
from reconciler.pauses import scaled

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT"})


@dataclass(frozen=True)
class Backoff:
    """Pause before attempt n+1: `base * factor**(n-1)`, capped at `cap`; with `jitter`, a
    uniform draw below that (full jitter)."""

    base: float
    cap: float
    factor: float = 2.0
    jitter: bool = True

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        return scaled(random.uniform(0.0, ceiling) if self.jitter else ceiling)

    def pauses(self) -> Iterator[float]:
        """The pauses after attempts 1, 2, 3, ... (endless; for polls)."""
        attempt = 1
        while True:
            yield self.delay(attempt)
            attempt += 1


# The schedules, one constant per meaning.
CLIENT_BACKOFF = Backoff(base=0.5, cap=30.0)
WRITE_BACKOFF = Backoff(base=0.25, cap=15.0)
LATE_COPY_GRACE = 45.0  # s: a server acting at 33 s on a request abandoned at 30 s
POLL_FACTOR = 1.6  # single steps' polls (captions, stopping), see apply/wait.py
TRAINING_POLL_FACTOR = 1.5  # apply --wait


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts of one write by the engine, with the shared `Backoff` between them."""

    attempts: int = 6
    base_seconds: float = WRITE_BACKOFF.base
    max_seconds: float = WRITE_BACKOFF.cap
    #: how long after an unanswered create its late copy may still land (apply/late_copies.py);
    #: a pause like the others, so RECONCILER_TEST_PAUSE_SCALE shortens the default
    late_copy_grace: float = field(default_factory=lambda: scaled(LATE_COPY_GRACE))

    @property
    def backoff(self) -> Backoff:
        return Backoff(base=self.base_seconds, cap=self.max_seconds)

    def delay(self, attempt: int) -> float:
        return self.backoff.delay(attempt)


def client_may_retry(method: str, err: BaseException) -> bool:
    """Whether the client repeats the request itself (429s are paced in `http.py`)."""
    if not isinstance(err, BriaError) or not err.retryable:
        return False
    if isinstance(err, RateLimited) or method in IDEMPOTENT_METHODS:
        return True
    return isinstance(err, TransportError) and not err.maybe_sent


def engine_may_retry(err: BaseException) -> bool:
    """Whether the engine may send a write again (after recognising): only what the client
    left alone, a write that may have acted."""
    if not isinstance(err, ServerError | TransportError):
        return False
    return not client_may_retry(err.method, err)
