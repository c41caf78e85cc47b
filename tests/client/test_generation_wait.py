"""`generate_and_wait` and the status service's answers the emulator never gives (ERROR, a
request that never finishes, Bria's `{"result": ...}` 200 shape), with the clock and sleep
injected so nothing waits. The happy path runs against the emulator in the contract suite."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.client import BriaClient, MalformedResponse
from reconciler.client.generation_wait import (
    GenerationFailed,
    GenerationTimedOut,
    generate_and_wait,
)

TOKEN = "tok-WAIT-5d2e11"


def scripted(*statuses: dict[str, Any], first: tuple[int, Any] | None = None) -> BriaClient:
    answers = iter(statuses)
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            status, body = first or (202, {"request_id": "r1", "status_url": "x"})
            return httpx.Response(status, json=body)
        return httpx.Response(200, json=next(answers))

    client = BriaClient(
        "https://bria.test/v1", TOKEN, max_retries=0, transport=httpx.MockTransport(answer)
    )
    client.seen = seen  # type: ignore[attr-defined]
    return client


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_polls_the_v2_status_route_until_completed() -> None:
    client = scripted(
        {"request_id": "r1", "status": "IN_PROGRESS"},
        {"status": "completed", "result": {"image_url": "https://x/i.png", "seed": 3}},
    )
    time = FakeTime()
    result = generate_and_wait(
        client, 7, prompt="a cat", poll_interval=2, sleep=time.sleep, clock=time.clock
    )
    assert (result.image_url, result.seed) == ("https://x/i.png", 3)
    assert client.seen == [  # type: ignore[attr-defined]
        "POST /v2/image/generate/tailored",
        "GET /v2/status/r1",
        "GET /v2/status/r1",
    ]
    assert time.slept == [2]


def test_a_200_answer_in_brias_result_shape_needs_no_polling() -> None:
    client = scripted(first=(200, {"result": {"image_url": "https://x/a.png"}, "request_id": "r"}))
    assert generate_and_wait(client, 7, prompt="a cat", sync=True).image_url == "https://x/a.png"


def test_an_error_status_fails_with_brias_message() -> None:
    client = scripted({"status": "ERROR", "error": {"message": "moderation failed"}})
    with pytest.raises(GenerationFailed) as caught:
        generate_and_wait(client, 7, prompt="a cat", sleep=lambda s: None)
    assert str(caught.value) == (
        "generation request 'r1' ended ERROR: moderation failed; check the prompt and the model, "
        "then generate again"
    )


def test_a_request_still_in_progress_times_out() -> None:
    client = scripted(*({"status": "IN_PROGRESS"} for _ in range(20)))
    time = FakeTime()
    with pytest.raises(GenerationTimedOut, match="still in progress after 5 s"):
        generate_and_wait(
            client, 7, prompt="x", timeout=5, poll_interval=2, sleep=time.sleep, clock=time.clock
        )
    assert time.slept == [2, 2, 1]


def test_an_unknown_status_or_a_completed_answer_without_result_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="field 'status' has unknown value 'DONE'"):
        generate_and_wait(scripted({"status": "DONE"}), 7, prompt="x")
    with pytest.raises(MalformedResponse, match="is COMPLETED but has no 'result'"):
        generate_and_wait(scripted({"status": "COMPLETED"}), 7, prompt="x")


@pytest.mark.parametrize(
    "accepted",
    [
        {"status_url": "https://engine.prod.bria-api.com/v2/status/r-9_a"},  # no request_id
        {"request_id": "r-9_a"},  # no status_url
    ],
)
def test_a_202_names_its_request_by_id_or_by_status_url(accepted: dict[str, Any]) -> None:
    client = scripted(
        {"status": "COMPLETED", "result": {"image_url": "https://x/b.png"}}, first=(202, accepted)
    )
    time = FakeTime()
    result = generate_and_wait(client, 7, prompt="a cat", sleep=time.sleep, clock=time.clock)
    assert result.image_url == "https://x/b.png"
    assert client.seen[-1] == "GET /v2/status/r-9_a"  # type: ignore[attr-defined]


def test_a_202_naming_no_request_is_malformed() -> None:
    client = scripted(first=(202, {"message": "accepted"}))
    with pytest.raises(MalformedResponse, match="neither 'image_url' nor 'request_id'"):
        generate_and_wait(client, 7, prompt="a cat")
