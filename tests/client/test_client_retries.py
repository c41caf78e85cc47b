"""Client retry policy: what is retried, how long it waits, when it gives up, what it counts.

httpx.MockTransport only injects the faults (a scripted sequence of answers); the client itself
is the real one."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from reconciler.client import BriaClient, RateLimited, ServerError, TransportError
from reconciler.client.http import parse_retry_after

TOKEN = "tok-RETRIES-55aa01"
PROJECT = {"id": 7, "project_name": "p", "ip_type": "icons", "ip_medium": "illustration"}


def scripted(
    *answers: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport that plays `answers` in order (the last one repeats)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers[min(len(seen), len(answers) - 1)]
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def make_client(transport: httpx.BaseTransport, **options: float) -> BriaClient:
    settings: dict[str, float] = {"backoff_base": 0.001, "backoff_max": 0.01, **options}
    return BriaClient(
        "https://bria.test/v1",
        TOKEN,
        transport=transport,
        max_retries=int(settings.pop("max_retries", 5)),
        **settings,
    )


def test_429_with_retry_after_is_honoured_then_succeeds() -> None:
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "0.3"}, json={"message": "slow down"}),
        httpx.Response(200, json=PROJECT),
    )
    client = make_client(transport, backoff_max=1.0)
    started = time.monotonic()
    assert client.get_project(7).id == 7
    assert time.monotonic() - started >= 0.3
    assert len(seen) == 2
    assert client.stats.snapshot() == {
        "requests": 2,
        "retries": 1,
        "by_route": {"GET /tailored-gen/projects/{project_id}": 2},
        "by_status": {"200": 1, "429": 1},
    }


def test_429_on_a_post_is_retried_because_nothing_happened() -> None:
    transport, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(201, json=PROJECT)
    )
    client = make_client(transport)
    record = client.create_project(project_name="p", ip_type="icons", ip_medium="illustration")
    assert record.id == 7
    assert [request.method for request in seen] == ["POST", "POST"]


def test_retry_after_longer_than_max_rate_wait_gives_up_at_once() -> None:
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "120"}))
    client = make_client(transport, max_rate_wait=5.0)
    with pytest.raises(RateLimited) as info:
        client.list_projects()
    assert info.value.retry_after == 120.0
    assert len(seen) == 1
    assert str(info.value) == (
        "GET /tailored-gen/projects: 429 Too Many Requests (Retry-After 120s, longer than the 5 s "
        "we wait: try again later or raise --max-rate-wait)"
    )


def test_429_without_retry_after_backs_off_and_gives_up_after_max_retries() -> None:
    transport, seen = scripted(httpx.Response(429, json={"message": "Request limit exceeded."}))
    client = make_client(transport, max_retries=3)
    with pytest.raises(RateLimited) as info:
        client.list_datasets()
    assert len(seen) == 4
    assert client.stats.retries == 3
    assert str(info.value) == (
        "GET /tailored-gen/datasets: 429 Too Many Requests: Request limit exceeded. "
        "(gave up after 4 attempts)"
    )


def test_retry_after_as_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = parse_retry_after(format_datetime(when, usegmt=True))
    assert seconds is not None and 28 <= seconds <= 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_5xx_on_get_is_retried() -> None:
    transport, seen = scripted(
        httpx.Response(500), httpx.Response(502), httpx.Response(200, json=[PROJECT])
    )
    client = make_client(transport)
    assert [p.id for p in client.list_projects()] == [7]
    assert len(seen) == 3
    assert client.stats.retries == 2
    assert client.stats.by_status == {"500": 1, "502": 1, "200": 1}


def test_5xx_on_idempotent_put_is_retried() -> None:
    transport, seen = scripted(httpx.Response(503), httpx.Response(200, json=PROJECT))
    client = make_client(transport)
    assert client.update_project(7, project_description="d").id == 7
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("call", "route"),
    [
        (
            lambda c: c.create_dataset(project_id=1, name="d"),
            "POST /tailored-gen/datasets",
        ),
        (lambda c: c.upload_image(3, file=b"x"), "POST /tailored-gen/datasets/3/images"),
        (lambda c: c.clone_dataset(3), "POST /tailored-gen/datasets/3/clone"),
        (lambda c: c.start_training(4), "POST /tailored-gen/models/4/start_training"),
        (lambda c: c.stop_training(4), "POST /tailored-gen/models/4/stop_training"),
        (lambda c: c.delete_model(4), "DELETE /tailored-gen/models/4"),
    ],
)
def test_non_idempotent_write_is_not_retried_on_5xx(
    call: Callable[[BriaClient], object], route: str
) -> None:
    transport, seen = scripted(httpx.Response(500, json={"message": "Internal server error"}))
    client = make_client(transport)
    with pytest.raises(ServerError) as info:
        call(client)
    assert len(seen) == 1
    assert client.stats.retries == 0
    assert str(info.value) == f"{route}: 500 Internal Server Error: Internal server error"


def test_post_is_not_retried_when_the_answer_may_be_lost() -> None:
    transport, seen = scripted(httpx.ReadTimeout("timed out"), httpx.Response(201, json=PROJECT))
    client = make_client(transport)
    with pytest.raises(TransportError) as info:
        client.create_project(project_name="p", ip_type="icons", ip_medium="illustration")
    assert info.value.maybe_sent is True
    assert len(seen) == 1


def test_post_is_retried_when_the_connection_never_opened() -> None:
    transport, seen = scripted(httpx.ConnectError("refused"), httpx.Response(201, json=PROJECT))
    client = make_client(transport)
    assert client.create_project(project_name="p", ip_type="icons", ip_medium="illustration").id
    assert len(seen) == 2


def test_get_is_retried_after_timeouts_and_resets() -> None:
    transport, seen = scripted(
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.Response(200, json=[]),
    )
    client = make_client(transport)
    assert client.list_models() == []
    assert len(seen) == 3
    assert client.stats.by_status == {"no response": 2, "200": 1}


def test_backoff_is_bounded_by_backoff_max() -> None:
    transport, seen = scripted(httpx.Response(503))
    client = make_client(transport, backoff_base=100.0, backoff_max=0.02, max_retries=5)
    started = time.monotonic()
    with pytest.raises(ServerError, match=r"\(gave up after 6 attempts\)$"):
        client.get_dataset(1)
    assert time.monotonic() - started < 1.0  # 5 sleeps of at most 0.02 s
    assert len(seen) == 6


def test_max_retries_zero_means_one_attempt() -> None:
    transport, seen = scripted(httpx.Response(503))
    client = make_client(transport, max_retries=0)
    with pytest.raises(ServerError) as info:
        client.get_dataset(1)
    assert len(seen) == 1
    assert "gave up" not in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 412, 415, 422])
def test_client_errors_are_never_retried(status: int) -> None:
    transport, seen = scripted(httpx.Response(status, json={"message": "no"}))
    client = make_client(transport)
    with pytest.raises(Exception) as info:
        client.list_projects()
    assert len(seen) == 1
    assert getattr(info.value, "retryable", None) is False
