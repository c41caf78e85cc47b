"""Downloading asynchronous generation results from a real HTTP server standing in for Bria's
storage: a result URL that answers 404 or an empty 200 (a placeholder) is not ready yet and is
polled again, so is one that failed (a 5xx: the images are paid for, a GET costs nothing); a
refusal (4xx) fails at once, naming the URL without its query string (signatures)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reconciler.generation.results import GenerationFailed, Result, download_results

PNG = b"\x89PNG\r\n\x1a\n-image-bytes"


class Storage:
    """Each path answers its scripted (status, body) replies in turn, then the last one."""

    def __init__(self) -> None:
        self.replies: dict[str, list[tuple[int, bytes]]] = {}
        self.hits: dict[str, int] = {}


@pytest.fixture
def storage() -> Iterator[tuple[Storage, str]]:
    state = Storage()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            replies = state.replies.get(path, [(404, b"")])
            count = state.hits.get(path, 0)
            state.hits[path] = count + 1
            status, body = replies[min(count, len(replies) - 1)]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # a short poll: shutdown() waits for one (the default is 0.5 s)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_not_found_and_empty_placeholders_are_polled_until_the_image_is_there(
    storage: tuple[Storage, str],
) -> None:
    state, base = storage
    state.replies["/a.png"] = [(404, b""), (200, b""), (503, b"busy"), (200, PNG)]
    state.replies["/b.png"] = [(200, PNG)]
    lines: list[str] = []
    images = download_results(
        [Result(f"{base}/a.png?X-Amz-Signature=s3cr3t", 7), Result(f"{base}/b.png", 8)],
        "text-to-image",
        timeout=30,
        progress=lines.append,
    )
    assert [(image.data, image.seed, image.extension) for image in images] == [
        (PNG, 7, ".png"),
        (PNG, 8, ".png"),
    ]
    assert state.hits == {"/a.png": 4, "/b.png": 1}  # a ready result is fetched once
    assert lines and lines[0].startswith("waiting for 1 of 2 results to be ready")


def test_a_refusal_fails_at_once_naming_the_url_without_its_signature(
    storage: tuple[Storage, str],
) -> None:
    state, base = storage
    state.replies["/gone.png"] = [(410, b"gone")]
    with pytest.raises(GenerationFailed) as failed:
        download_results([Result(f"{base}/gone.png?sig=s3cr3t", None)], "text-to-image")
    assert str(failed.value) == f"downloading a result failed: GET {base}/gone.png: 410"
    assert state.hits == {"/gone.png": 1}


def test_a_result_that_keeps_failing_is_reported_after_the_timeout(
    storage: tuple[Storage, str],
) -> None:
    state, base = storage
    state.replies["/broken.png"] = [(500, b"oops")]
    with pytest.raises(GenerationFailed) as failed:
        download_results(
            [Result(f"{base}/broken.png?sig=s3cr3t", None)], "text-to-image", timeout=0.25
        )
    message = str(failed.value)
    assert message.startswith(f"downloading a result failed: GET {base}/broken.png: 500 (retried")
    assert "s3cr3t" not in message and state.hits["/broken.png"] > 1
