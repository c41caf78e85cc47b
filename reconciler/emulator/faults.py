"""Fault injection and request statistics for `/v1` requests, reproducible with a seed.

Per request, in order: `latency` (sleep), a request over Bria's per-endpoint window
(`rate_limit_per_window` per `rate_window_s`, see `rate_window.py`) or every
`rate_limit_every`-th request answers 429 with `Retry-After` without acting, `failure_rate`
answers 500 without acting, and
`lost_response_rate` lets the request act and then answers 500 instead of its real response.
Both random draws are made for every request from one seeded RNG, so a given seed and request
order always give the same faults. Admin and file routes are never faulted nor counted.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.rate_window import SlidingWindow, retry_after_header


@dataclass(frozen=True)
class FaultDecision:
    """What happens to one request."""

    rate_limited: bool
    fail_before: bool
    lose_response: bool
    retry_after: str = "1"  # the Retry-After header of a 429


class FaultInjector:
    """Decides faults per request and keeps counts; thread-safe."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._rng = random.Random(config.seed)
        self._requests = 0
        self._by_route: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._window = SlidingWindow()

    def reseed(self) -> None:
        """Start the fault sequence over (after a seed change or a reset)."""
        with self._lock:
            self._rng = random.Random(self.config.seed)
            self._requests = 0

    def reset_stats(self) -> None:
        with self._lock:
            self._by_route.clear()
            self._by_status.clear()
            self._faults.clear()
        self._window.reset()

    def forget_window(self) -> None:
        """A new rate limit starts with an empty window (set on the admin endpoint)."""
        self._window.reset()

    def decide(self, method: str, route: str) -> FaultDecision:
        endpoint = f"{method} {route}"
        wait = self._window.admit(
            endpoint, self.config.rate_limit_per_window, self.config.rate_window_s
        )
        with self._lock:
            self._requests += 1
            self._by_route[endpoint] += 1
            fail_draw, lose_draw = self._rng.random(), self._rng.random()
            every = self.config.rate_limit_every
            rate_limited = wait is not None or (bool(every) and self._requests % every == 0)
            retry_after = (
                f"{self.config.retry_after:g}" if wait is None else retry_after_header(wait)
            )
            fail_before = not rate_limited and fail_draw < self.config.failure_rate
            lose = not (rate_limited or fail_before) and lose_draw < self.config.lost_response_rate
            if rate_limited:
                self._faults["rate_limited"] += 1
            if fail_before:
                self._faults["failed_before_acting"] += 1
            if lose:
                self._faults["lost_responses"] += 1
            return FaultDecision(rate_limited, fail_before, lose, retry_after)

    def record_status(self, status: int) -> None:
        with self._lock:
            self._by_status[str(status)] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self._by_route.values()),
                "by_route": dict(sorted(self._by_route.items())),
                "by_status": dict(sorted(self._by_status.items())),
                "faults": {
                    "rate_limited": self._faults["rate_limited"],
                    "failed_before_acting": self._faults["failed_before_acting"],
                    "lost_responses": self._faults["lost_responses"],
                },
            }
