"""`write_once` and `delete_once`, the rules for writes that may have happened, on plain callables:
which errors are retried, when the account is re-read, and what ends the attempts."""

from __future__ import annotations

import threading

import pytest

from reconciler.apply.writes import (
    RetryPolicy,
    StepInterrupted,
    WriteGaveUp,
    WriteUnconfirmed,
    delete_once,
    write_once,
)
from reconciler.client import (
    BadRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
)

QUICK = RetryPolicy(attempts=3, base_seconds=0.001, max_seconds=0.002)


class Script:
    """A write that fails with the given errors in turn, then answers "made"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.reads = 0

    def write(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "made"

    def recognise_nothing(self) -> str | None:
        self.reads += 1
        return None

    def recognise_found(self) -> str | None:
        self.reads += 1
        return "found"


def server_error() -> ServerError:
    return ServerError("POST", "/tailored-gen/projects", 500, "boom")


def test_a_lost_answer_is_recognised_instead_of_written_again() -> None:
    script = Script(server_error())
    assert write_once("create", script.write, script.recognise_found, policy=QUICK) == "found"
    assert (script.calls, script.reads) == (1, 1)


def test_not_found_after_a_lost_answer_means_write_again() -> None:
    script = Script(server_error(), TransportError("POST", "/x", "reset", maybe_sent=True))
    assert write_once("create", script.write, script.recognise_nothing, policy=QUICK) == "made"
    assert (script.calls, script.reads) == (3, 2)


@pytest.mark.parametrize(
    "client_retried",
    [
        RateLimited("POST", "/x", 429, "slow down", retry_after=0.001),
        TransportError("POST", "/x", "refused", maybe_sent=False),
        ServerError("PUT", "/x", 503, "busy"),
    ],
)
def test_what_the_client_already_retried_is_final_for_the_engine(
    client_retried: Exception,
) -> None:
    """One home per retry: a 429, an unsent request or an idempotent PUT reached the engine only
    after the client's own bounded attempts, so the engine neither repeats nor reads."""
    script = Script(client_retried)
    with pytest.raises(type(client_retried)):
        write_once("create", script.write, script.recognise_found, policy=QUICK)
    assert (script.calls, script.reads) == (1, 0)
    deleted = Script(client_retried)
    with pytest.raises(type(client_retried)):
        delete_once("delete", lambda: deleted.write() and None, policy=QUICK)
    assert deleted.calls == 1


def test_attempts_are_bounded_and_the_last_lost_answer_is_still_recognised() -> None:
    script = Script(server_error(), server_error(), server_error())
    with pytest.raises(WriteGaveUp, match="create: gave up after 3 attempts: POST"):
        write_once("create", script.write, script.recognise_nothing, policy=QUICK)
    assert (script.calls, script.reads) == (3, 3)
    found_late = Script(server_error(), server_error(), server_error())
    assert write_once("c", found_late.write, lambda: "late", policy=QUICK) == "late"


def test_an_unreadable_answer_is_recognised_or_stops() -> None:
    malformed = MalformedResponse("POST", "/x", 201, "not JSON")
    script = Script(malformed)
    assert write_once("create", script.write, script.recognise_found, policy=QUICK) == "found"
    stopped = Script(MalformedResponse("POST", "/x", 201, "not JSON"))
    with pytest.raises(WriteUnconfirmed, match="not found when the account was re-read"):
        write_once("create", stopped.write, stopped.recognise_nothing, policy=QUICK)
    assert stopped.calls == 1


def test_other_errors_are_not_retried() -> None:
    script = Script(BadRequest("POST", "/x", 400, "bad name"))
    with pytest.raises(BadRequest):
        write_once("create", script.write, script.recognise_found, policy=QUICK)
    assert (script.calls, script.reads) == (1, 0)


def test_cancel_interrupts_the_backoff() -> None:
    cancel = threading.Event()
    cancel.set()
    script = Script(server_error())
    with pytest.raises(StepInterrupted):
        write_once("c", script.write, script.recognise_found, policy=QUICK, cancel=cancel)


def test_delete_once_404_means_gone() -> None:
    def gone() -> None:
        raise NotFound("DELETE", "/x", 404, "not found")

    assert delete_once("delete", gone, policy=QUICK) == "already gone"
    calls: list[int] = []

    def lost_then_gone() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ServerError("DELETE", "/x", 500, "boom")
        raise NotFound("DELETE", "/x", 404, "not found")

    assert delete_once("delete", lost_then_gone, policy=QUICK) == (
        "deleted (the first answer was lost)"
    )
