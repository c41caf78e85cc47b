"""Pace requests to Bria's rate limit: one limiter per endpoint, shared by every worker thread.

Bria limits each endpoint (a method plus a route template: every `GET /datasets/{id}/images`
shares one budget) to a number of requests per minute that depends on the plan (Free 10, Starter
60, Pro and Enterprise 1000), and answers 429 with `Retry-After` beyond it. So that 429s are rare
and never fatal:

* With a known limit (`--rate-limit N`, `BRIA_RATE_LIMIT`, a tier name) each endpoint keeps a
  sliding window like Bria's: a request waits until fewer than N requests were answered in the
  last window. A slot is stamped when its answer *arrives*, later than Bria counted it, so our
  window never frees a slot before Bria's does.
* Without one, nothing waits until the account's own 429 says where the limit is: the limiter
  then learns N (the requests this endpoint had answered in the last minute) and the window
  (from `Retry-After`, at most a minute), and paces from then on.
* A 429 pauses its endpoint for every worker until its `Retry-After` (bounded by `max_wait`;
  longer is an error that says so), printing once "waiting N s for Bria's rate limit on ENDPOINT".
Reads, writes, polls and `apply --wait` all go through here, since all go through `HttpSession`.
"""

from __future__ import annotations

import math
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.errors import ReconcilerError

MINUTE = 60.0
TIERS: dict[str, int] = {"free": 10, "starter": 60, "pro": 1000, "enterprise": 1000}
DEFAULT_MAX_WAIT = 120.0  # Bria's window is a minute, so its Retry-After stays below this
NOTICE_THRESHOLD = 1.0  # pacing waits shorter than this pass silently
NOTICE_EVERY = 30.0  # pacing (not 429) notices per endpoint at most this often
_CUSTOM = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s\s*$")


class RateLimitSpecError(ValueError):
    """A --rate-limit / BRIA_RATE_LIMIT value that is neither a number nor a tier."""


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` per endpoint in any `window_s` seconds."""

    requests: int
    window_s: float = MINUTE

    @property
    def per_second(self) -> float:
        return self.requests / self.window_s

    def __str__(self) -> str:
        if self.window_s == MINUTE:
            return f"{self.requests}/min"
        return f"{self.requests}/{self.window_s:g}s"


def parse_rate_limit(text: str) -> RateLimit | None:
    """`10` (per minute), a tier (`free`, `starter`, `pro`, `enterprise`), or `N/Ws` (N per W
    seconds, for scaled-down test windows); `0`, `none` or `auto` mean "learn it from 429s"."""
    value = text.strip().lower()
    if value in ("", "0", "none", "auto"):
        return None
    if value in TIERS:
        return RateLimit(TIERS[value])
    if value.isdigit():
        return RateLimit(int(value))
    custom = _CUSTOM.match(value)
    if custom and int(custom.group(1)) > 0 and float(custom.group(2)) > 0:
        return RateLimit(int(custom.group(1)), float(custom.group(2)))
    raise RateLimitSpecError(
        f"rate limit '{text}' is neither a number of requests per minute nor a tier "
        f"({', '.join(TIERS)}); e.g. --rate-limit 60 or --rate-limit starter"
    )


class RateLimitWaitInterrupted(ReconcilerError):
    """`interrupt()` was called while a request was waiting for its endpoint's budget."""

    exit_code = 130


@dataclass
class _Endpoint:
    limit: RateLimit | None
    answered: deque[float] = field(default_factory=deque)  # answer times, last minute or window
    in_flight: int = 0
    paused_until: float = 0.0
    announced_until: float = 0.0
    announced_at: float = -math.inf


_PACERS: weakref.WeakSet[EndpointPacer] = weakref.WeakSet()


def interrupt_all() -> None:
    """Ctrl-C: every pacer of the process stops its waiting requests (the CLI's SIGINT handler;
    worker threads cannot receive KeyboardInterrupt themselves)."""
    for pacer in list(_PACERS):
        pacer.interrupt()


class EndpointPacer:
    """Per-endpoint sliding windows and 429 pauses; thread-safe, one per client."""

    def __init__(
        self,
        limit: RateLimit | None = None,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        notice: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.max_wait = max_wait
        self._notice = notice
        self._clock = clock
        self._cond = threading.Condition()
        self._endpoints: dict[str, _Endpoint] = {}
        self._interrupted = False
        _PACERS.add(self)

    # ------------------------------------------------------------ the two calls per request

    def acquire(self, endpoint: str) -> None:
        """Block until `endpoint` may be sent a request; the caller must `release` it."""
        with self._cond:
            state = self._state(endpoint)
            while True:
                if self._interrupted:
                    raise RateLimitWaitInterrupted(
                        f"{endpoint}: interrupted while waiting for Bria's rate limit; not sent"
                    )
                now = self._clock()
                wait = self._wait_needed(state, now)
                if wait <= 0:
                    state.in_flight += 1
                    return
                self._announce(endpoint, state, now, wait, paced=state.paused_until <= now)
                self._cond.wait(None if math.isinf(wait) else wait)

    def release(self, endpoint: str, *, counted: bool) -> None:
        """The request's answer arrived (`counted`: Bria counted it, i.e. not a 429)."""
        with self._cond:
            state = self._state(endpoint)
            state.in_flight = max(0, state.in_flight - 1)
            if counted:
                state.answered.append(self._clock())
            self._cond.notify_all()

    def rate_limited(self, endpoint: str, retry_after: float | None, fallback: float) -> float:
        """Bria answered 429: pause the endpoint for everyone and learn its limit; returns the
        pause in seconds (`retry_after`, or `fallback` when Bria sent none)."""
        with self._cond:
            now = self._clock()
            state = self._state(endpoint)
            pause = fallback if retry_after is None else retry_after
            state.paused_until = max(state.paused_until, now + pause)
            state.limit = self._learn(state, now, retry_after)
            self._announce(endpoint, state, now, state.paused_until - now, paced=False)
            self._cond.notify_all()
            return pause

    def interrupt(self) -> None:
        """Make every waiting and later `acquire` raise (Ctrl-C during a long pause)."""
        with self._cond:
            self._interrupted = True
            self._cond.notify_all()

    # ------------------------------------------------------------ reading it (progress, ETA)

    def limit_of(self, endpoint: str) -> RateLimit | None:
        with self._cond:
            found = self._endpoints.get(endpoint)
            return found.limit if found is not None else self.limit

    def seconds_for(self, endpoint: str, requests: int) -> float:
        """The least time `requests` more calls to `endpoint` can take under its limit."""
        limit = self.limit_of(endpoint)
        if limit is None or requests <= 0:
            return 0.0
        return max(0, requests - limit.requests) / limit.per_second

    # ------------------------------------------------------------ inside

    def _state(self, endpoint: str) -> _Endpoint:
        state = self._endpoints.get(endpoint)
        if state is None:
            state = self._endpoints[endpoint] = _Endpoint(self.limit)
        return state

    def _wait_needed(self, state: _Endpoint, now: float) -> float:
        if state.paused_until > now:
            return state.paused_until - now
        limit = state.limit
        keep = max(MINUTE, limit.window_s if limit else 0.0)
        answered = state.answered
        while answered and answered[0] <= now - keep:
            answered.popleft()
        if limit is None:
            return 0.0
        horizon = now - limit.window_s
        in_window = len(answered) - _count_before(answered, horizon)
        if in_window + state.in_flight < limit.requests:
            return 0.0
        if in_window == 0 or in_window + state.in_flight - limit.requests >= in_window:
            return math.inf  # only answers still to come can free a slot: wait to be notified
        # the slot of the (excess+1)-th oldest answer in the window frees just enough
        excess = in_window + state.in_flight - limit.requests
        return answered[len(answered) - in_window + excess] + limit.window_s - now

    def _learn(self, state: _Endpoint, now: float, retry_after: float | None) -> RateLimit:
        """The limit a 429 reveals: what this endpoint had answered within a minute (plus what is
        still in flight: their answers may not have arrived yet), over the time from the oldest
        of those to when Bria says the budget frees (at most a minute). Never raised by a later
        429, only lowered."""
        recent = [t for t in state.answered if t > now - MINUTE]
        count = max(1, len(recent) + state.in_flight)
        if retry_after is None:
            window = MINUTE
        else:  # the oldest counted request leaves Bria's window after retry_after
            oldest = recent[0] if recent else now
            window = min(MINUTE, max(retry_after, now + retry_after - oldest, 0.1))
        learned = RateLimit(count, window)
        if state.limit is not None and state.limit.per_second < learned.per_second:
            return state.limit
        return learned

    def _announce(
        self, endpoint: str, state: _Endpoint, now: float, wait: float, *, paced: bool
    ) -> None:
        """One line per 429 pause; for pacing waits, one per NOTICE_EVERY seconds."""
        if self._notice is None or math.isinf(wait) or wait < NOTICE_THRESHOLD:
            return
        until = now + wait
        if until <= state.announced_until + 1.0:
            return
        if paced and now - state.announced_at < NOTICE_EVERY:
            return
        state.announced_until, state.announced_at = until, now
        self._notice(f"waiting {math.ceil(wait)} s for Bria's rate limit on {endpoint}")


def _count_before(times: deque[float], horizon: float) -> int:
    count = 0
    for stamp in times:
        if stamp > horizon:
            break
        count += 1
    return count
