"""Every request has an overall deadline, not only a per-read timeout.

A server (or proxy) that drips its answer one byte at a time never trips a read timeout, so
without a deadline plan and apply would hang forever. A real socket server drips the headers or
the body; the call must fail as a TransportError naming the deadline within it, and is not
retried (the same path would drip as slowly again), so a read is bounded by one deadline.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from reconciler.client import BriaClient, TransportError

TOKEN = "tok-DEADLINE-4b2d"
BODY = b"[" + b" " * 2000 + b"]"
HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
    BODY
)
DRIP_SECONDS = 0.02  # far below the read timeout: only the deadline can end the call
READ_TIMEOUT = 0.3
DEADLINE = 0.5
GIVE_UP_AFTER = 8.0  # the server stops dripping then, so a missing deadline fails, not hangs


def _drip(conn: socket.socket, data: bytes, stop: float) -> None:
    for byte in data:
        if time.monotonic() > stop:
            return
        conn.sendall(bytes([byte]))
        time.sleep(DRIP_SECONDS)


@pytest.fixture(params=["headers", "body"])
def dripping(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[float]]]:
    """The server's URL, and when it accepted each connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.05)
    done = threading.Event()
    accepted: list[float] = []

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(time.monotonic())
            with conn:
                conn.recv(65536)
                stop = time.monotonic() + GIVE_UP_AFTER
                try:
                    if request.param == "headers":
                        _drip(conn, HEADERS + BODY, stop)
                    else:
                        conn.sendall(HEADERS)
                        _drip(conn, BODY, stop)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1", accepted
    done.set()
    thread.join()
    listener.close()


def test_a_slow_drip_answer_fails_at_the_deadline(dripping: tuple[str, list[float]]) -> None:
    url, accepted = dripping
    with BriaClient(url, TOKEN, timeout=READ_TIMEOUT, deadline=DEADLINE, max_retries=3) as client:
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.list_projects()
        elapsed = time.monotonic() - started
    assert elapsed < GIVE_UP_AFTER / 2  # ended by the deadline, not by the server giving up
    assert len(accepted) == 1  # not retried
    message = str(info.value)
    assert message.startswith("GET /tailored-gen/projects: no response")
    assert f"no complete answer within {DEADLINE:g} s" in message
    assert TOKEN not in message
