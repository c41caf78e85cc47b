"""Pacing to Bria's rate limit: per-endpoint windows shared by threads, 429 pauses for everyone,
limits learned from the account's own 429s, --rate-limit / BRIA_RATE_LIMIT / tiers on the CLI.

The emulator enforces the limit (a sliding window per endpoint, scaled down to seconds)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from reconciler.client import BriaClient, RateLimited
from reconciler.client.errors import ServerError, TransportError
from reconciler.client.pacing import (
    EndpointPacer,
    RateLimit,
    RateLimitSpecError,
    RateLimitWaitInterrupted,
    parse_rate_limit,
)
from reconciler.client.retry_policy import Backoff, client_may_retry, engine_may_retry
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import EmulatorSession
from reconciler.pauses import scaled

TOKEN = "tok-PACING-7731"
ENDPOINT = "GET /tailored-gen/projects"


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[EmulatorServer]:
    """Bria's Free tier scaled down: 3 requests per endpoint per 1.5 s (a Retry-After of 2 s,
    and pacing waits above the 1 s under which they pass silently)."""
    with EmulatorServer(
        tmp_path / "bria", token=TOKEN, rate_limit_per_window=3, rate_window_s=1.5
    ) as server:
        yield server


@pytest.fixture
def limited_1s(tmp_path: Path) -> Iterator[EmulatorServer]:
    """3 requests per endpoint per second: the shortest window (Retry-After is whole seconds)."""
    with EmulatorServer(
        tmp_path / "bria", token=TOKEN, rate_limit_per_window=3, rate_window_s=1.0
    ) as server:
        yield server


def _statuses(server: EmulatorServer) -> dict[str, int]:
    session = EmulatorSession(server, token=TOKEN)
    try:
        return dict(session.stats()["by_status"])
    finally:
        session.close()


def test_a_known_limit_paces_every_thread_without_any_429(limited: EmulatorServer) -> None:
    notices: list[str] = []
    with BriaClient(
        limited.url, TOKEN, rate_limit=RateLimit(3, 1.5), notice=notices.append
    ) as client:
        began = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: client.list_projects(), range(7)))
        elapsed = time.monotonic() - began
    assert answers == [[]] * 7
    assert _statuses(limited) == {"200": 7}
    assert 3.0 <= elapsed < 5.0  # 3 now, 3 after 1.5 s, 1 after 3 s: the window's floor
    # two waits of about 1.5 s, one notice: pacing notices come once per 30 s
    assert notices == [f"waiting 2 s for Bria's rate limit on {ENDPOINT}"]


def test_without_a_limit_one_429_pauses_the_endpoint_for_every_worker_and_teaches_it(
    limited_1s: EmulatorServer,
) -> None:
    notices: list[str] = []
    with BriaClient(limited_1s.url, TOKEN, notice=notices.append) as client:
        with ThreadPoolExecutor(4) as pool:
            # 3 answered, 429s, a pause, then 2 windows paced by the learned limit
            answers = list(pool.map(lambda _: client.list_projects(), range(9)))
        learned = client.pacer.limit_of(ENDPOINT)
        other = client.pacer.limit_of("GET /tailored-gen/models")
    assert answers == [[]] * 9
    statuses = _statuses(limited_1s)
    assert statuses["200"] == 9
    # the first 429s (about one per worker in flight) teach the limit; after that, few or none
    assert statuses.get("429", 0) <= 6
    assert learned is not None and 3 <= learned.requests <= 6  # answered + still in flight
    assert 1.0 <= learned.window_s <= 2.5
    assert learned.per_second <= 3.0
    assert other is None  # each endpoint has its own budget
    assert f"waiting 1 s for Bria's rate limit on {ENDPOINT}" in notices


def test_a_persistent_429_gives_up_after_the_bounded_attempts(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path / "b", token=TOKEN, rate_limit_every=1, retry_after=0) as server:
        with BriaClient(server.url, TOKEN, max_retries=5, backoff_max=0.01) as client:
            with pytest.raises(RateLimited, match=r"\(gave up after 6 attempts\)"):
                client.create_project(project_name="p", ip_type="icons", ip_medium="photography")
            assert client.stats.by_route == {"POST /tailored-gen/projects": 6}


def test_retry_after_beyond_max_rate_wait_stops_at_once(limited: EmulatorServer) -> None:
    with BriaClient(limited.url, TOKEN, max_rate_wait=1.0) as client:
        for _ in range(3):
            client.list_projects()
        with pytest.raises(RateLimited, match=r"longer than the 1 s we wait"):
            client.list_projects()
        assert client.stats.requests == 4


def test_interrupt_wakes_a_request_waiting_for_its_budget(limited: EmulatorServer) -> None:
    with BriaClient(limited.url, TOKEN, rate_limit=RateLimit(1, 60.0)) as client:
        client.list_projects()
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(client.list_projects)
            time.sleep(0.2)
            client.pacer.interrupt()
            with pytest.raises(
                RateLimitWaitInterrupted, match="interrupted while waiting for Bria"
            ):
                waiting.result(timeout=5)


def test_pacer_window_arithmetic_with_a_fake_clock() -> None:
    now = [0.0]
    pacer = EndpointPacer(RateLimit(2, 10.0), clock=lambda: now[0])
    for _ in range(2):
        pacer.acquire("GET /x")
        pacer.release("GET /x", counted=True)
    assert pacer._wait_needed(pacer._state("GET /x"), 0.0) == pytest.approx(10.0)
    assert pacer._wait_needed(pacer._state("GET /y"), 0.0) == 0.0
    assert pacer.seconds_for("GET /x", 12) == pytest.approx(50.0)  # 2 free, then 1 per 5 s
    pause = pacer.rate_limited("GET /y", 7.0, fallback=1.0)
    assert pause == 7.0
    assert pacer._wait_needed(pacer._state("GET /y"), 0.0) == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("free", RateLimit(10)),
        ("Starter", RateLimit(60)),
        ("pro", RateLimit(1000)),
        ("enterprise", RateLimit(1000)),
        ("25", RateLimit(25)),
        ("10/5s", RateLimit(10, 5.0)),
        ("auto", None),
        ("0", None),
    ],
)
def test_rate_limit_values(text: str, expected: RateLimit | None) -> None:
    assert parse_rate_limit(text) == expected


def test_a_bad_rate_limit_names_the_value_and_the_tiers() -> None:
    with pytest.raises(RateLimitSpecError) as info:
        parse_rate_limit("fast")
    assert str(info.value) == (
        "rate limit 'fast' is neither a number of requests per minute nor a tier (free, starter, "
        "pro, enterprise); e.g. --rate-limit 60 or --rate-limit starter"
    )


def test_the_client_and_the_engine_never_retry_the_same_error() -> None:
    cases = [
        ("GET", ServerError("GET", "/x", 500, None)),
        ("PUT", ServerError("PUT", "/x", 503, None)),
        ("POST", ServerError("POST", "/x", 500, None)),
        ("DELETE", ServerError("DELETE", "/x", 500, None)),
        ("POST", TransportError("POST", "/x", "read timeout", maybe_sent=True)),
        ("POST", TransportError("POST", "/x", "refused", maybe_sent=False)),
        ("POST", RateLimited("POST", "/x", 429, None, retry_after=1.0)),
    ]
    owners = [(client_may_retry(m, e), engine_may_retry(e)) for m, e in cases]
    assert owners == [
        (True, False),
        (True, False),
        (False, True),
        (False, True),
        (False, True),
        (True, False),
        (True, False),
    ]


def test_backoff_schedule() -> None:
    poll = Backoff(base=0.1, cap=1.0, factor=2.0, jitter=False)
    pauses = poll.pauses()
    expected = [scaled(p) for p in (0.1, 0.2, 0.4, 0.8, 1.0, 1.0)]  # the suite's pause scale
    assert [next(pauses) for _ in range(6)] == pytest.approx(expected)
    jittered = Backoff(base=1.0, cap=4.0)
    assert all(0.0 <= jittered.delay(n) <= scaled(min(4.0, 2 ** (n - 1))) for n in range(1, 8))


def test_mock_429_without_retry_after_pauses_by_backoff() -> None:
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        if len(seen) < 3:
            return httpx.Response(429)
        return httpx.Response(200, json=[])

    client = BriaClient(
        "https://bria.test/v1", TOKEN, transport=httpx.MockTransport(handler),
        backoff_base=0.05, backoff_max=0.05,
    )  # fmt: skip
    assert client.list_projects() == []
    assert len(seen) == 3
