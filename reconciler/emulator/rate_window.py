"""Bria's rate limit as the emulator enforces it: a sliding window per endpoint.

Bria counts requests per endpoint (a method plus a route template, so every
`GET /datasets/{dataset_id}/images` shares one budget) and answers 429 with `Retry-After` once an
endpoint has had `limit` requests in the last `window_s` seconds. The knobs
`rate_limit_per_window` (0 = off) and `rate_window_s` set it, so tests and the bench can run a
plan or an apply under the Free tier (10 per 60 s) or a faster scaled-down window (10 per 5 s).
A refused request is not counted (it did nothing), and `Retry-After` says, in whole seconds
rounded up as HTTP wants, when the oldest counted request leaves the window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """Per-endpoint counts of the requests accepted in the last `window_s` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._accepted: dict[str, deque[float]] = {}

    def reset(self) -> None:
        with self._lock:
            self._accepted.clear()

    def admit(self, endpoint: str, limit: int, window_s: float) -> float | None:
        """None when the request may go ahead (and is counted); else seconds until it may."""
        if limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            times = self._accepted.setdefault(endpoint, deque())
            while times and times[0] <= now - window_s:
                times.popleft()
            if len(times) < limit:
                times.append(now)
                return None
            return times[len(times) - limit] + window_s - now


def retry_after_header(seconds: float) -> str:
    """Delta-seconds as HTTP writes them: a whole number, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds - 1e-9)))
