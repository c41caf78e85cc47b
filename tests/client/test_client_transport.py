"""Client transport rules: https only (plain http to loopback), no redirects followed with the
token, timeouts and dropped connections reported as TransportError, no token in any output."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import EMULATOR_TOKEN

from reconciler.client import (
    BriaClient,
    InsecureTransportError,
    NotFound,
    TransportError,
    UnexpectedRedirect,
)
from reconciler.emulator.server import EmulatorServer

TOKEN = "tok-TRANSPORT-7c1e9a"


class _RecordingTransport(httpx.HTTPTransport):
    """A network transport that remembers whether anything was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(200, json=[])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://engine.prod.bria-api.com/v1", "uses plain http to 'engine.prod.bria-api.com'"),
        ("http://10.0.0.1:8080/v1", "uses plain http to '10.0.0.1'"),
        ("http://localhost.evil.example/v1", "uses plain http to 'localhost.evil.example'"),
        ("ftp://engine.prod.bria-api.com/v1", "uses 'ftp'; use https"),
        ("engine.prod.bria-api.com/v1", "has no host"),
    ],
)
def test_insecure_url_is_refused_before_sending(url: str, reason: str) -> None:
    transport = _RecordingTransport()
    with pytest.raises(InsecureTransportError) as info:
        BriaClient(url, TOKEN, transport=transport)
    assert str(info.value).startswith(f"API URL '{url}' {reason}")
    assert transport.sent == []
    assert TOKEN not in str(info.value)


def test_credentials_in_the_url_are_refused_and_not_echoed() -> None:
    with pytest.raises(InsecureTransportError) as info:
        BriaClient("https://user:hunter2@engine.example/v1", TOKEN)
    assert str(info.value) == (
        "API URL 'https://engine.example/v1' carries credentials; remove them "
        "(the token goes in BRIA_API_TOKEN)"
    )


def test_insecure_url_is_refused_with_the_default_transport() -> None:
    with pytest.raises(InsecureTransportError, match="use https"):
        BriaClient("http://example.com/v1", TOKEN)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/v1", "http://127.3.4.5/v1", "http://[::1]:9/v1", "http://localhost/v1"],
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    transport = _RecordingTransport()
    with BriaClient(url, TOKEN, transport=transport) as client:
        assert client.list_projects() == []
    assert len(transport.sent) == 1
    assert transport.sent[0].headers["api_token"] == TOKEN
    assert transport.sent[0].url.path.endswith("/v1/tailored-gen/projects")


def test_https_sends_token_header_and_builds_paths_under_base() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with BriaClient(
        "https://engine.example/v1/", TOKEN, transport=httpx.MockTransport(handler)
    ) as client:
        client.delete_image(12, 34)
    assert str(seen[0].url) == "https://engine.example/v1/tailored-gen/datasets/12/images/34"
    assert seen[0].method == "DELETE"
    assert seen[0].headers["api_token"] == TOKEN
    assert "authorization" not in seen[0].headers


class _Server:
    """A tiny local HTTP server answering every request with `respond(handler)`."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.requests.append((self.command, self.path, dict(self.headers)))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def target_server() -> Iterator[_Server]:
    server = _Server(200, {"Content-Type": "application/json"}, b"[]")
    yield server
    server.close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_to_another_host_is_not_followed(target_server: _Server, status: int) -> None:
    location = f"http://localhost:{target_server.port}/v1/tailored-gen/projects"
    redirector = _Server(status, {"Location": location})
    lines: list[str] = []
    try:
        with BriaClient(
            f"http://127.0.0.1:{redirector.port}/v1", TOKEN, debug_log=lines.append
        ) as client:
            with pytest.raises(UnexpectedRedirect) as info:
                client.list_projects()
    finally:
        redirector.close()
    err = info.value
    assert err.location_host == "localhost"
    assert str(err).startswith(f"GET /tailored-gen/projects: {status} ")
    assert "redirected to host 'localhost', which the client never follows" in str(err)
    assert target_server.requests == []  # the token never reached the other host
    assert len(redirector.requests) == 1  # and a redirect is not retried
    assert redirector.requests[0][2]["api_token"] == TOKEN
    assert all(TOKEN not in line for line in lines)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_not_maybe_sent_and_even_a_post_is_retried() -> None:
    port = _closed_port()
    with BriaClient(
        f"http://127.0.0.1:{port}/v1", TOKEN, max_retries=2, backoff_base=0.001, backoff_max=0.01
    ) as client:
        with pytest.raises(TransportError) as info:
            client.create_project(project_name="p", ip_type="icons", ip_medium="illustration")
        assert client.stats.requests == 3
        assert client.stats.retries == 2
        assert client.stats.by_status == {"no response": 3}
    err = info.value
    assert err.maybe_sent is False
    assert err.status is None
    assert str(err).startswith("POST /tailored-gen/projects: no response (ConnectError: ")
    assert str(err).endswith(
        "the request was not sent; check the network and --api-url (gave up after 3 attempts)"
    )


@pytest.mark.parametrize(
    ("exc", "reason", "maybe_sent"),
    [
        (httpx.ReadTimeout("timed out"), "read timeout", True),
        (httpx.WriteTimeout("timed out"), "write timeout", True),
        (httpx.ConnectTimeout("timed out"), "connect timeout", False),
        (httpx.PoolTimeout("timed out"), "pool timeout", False),
        (httpx.RemoteProtocolError("Server disconnected"), "RemoteProtocolError", True),
        (httpx.ReadError("Connection reset by peer"), "ReadError", True),
    ],
)
def test_transport_failures_say_whether_the_request_may_have_been_sent(
    exc: httpx.HTTPError, reason: str, maybe_sent: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    client = BriaClient(
        "https://bria.test/v1", TOKEN, max_retries=0, transport=httpx.MockTransport(handler)
    )
    with pytest.raises(TransportError) as info:
        client.start_training(5)
    assert info.value.maybe_sent is maybe_sent
    assert str(info.value).startswith(
        f"POST /tailored-gen/models/5/start_training: no response ({reason}"
    )
    hint = "may have reached Bria; re-read" if maybe_sent else "was not sent"
    assert hint in str(info.value)
    assert isinstance(info.value.__cause__, type(exc))


def test_real_read_timeout_on_a_slow_server() -> None:
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(5)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    try:
        with BriaClient(
            f"http://127.0.0.1:{httpd.server_address[1]}/v1", TOKEN, timeout=0.2, max_retries=0
        ) as client:
            with pytest.raises(TransportError, match=r"GET /tailored-gen/models/9: no response"):
                client.get_model(9)
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()


def test_debug_log_has_one_line_per_attempt_and_no_headers() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json=[])])
    lines: list[str] = []
    client = BriaClient(
        "https://bria.test/v1",
        TOKEN,
        backoff_base=0.001,
        backoff_max=0.001,
        transport=httpx.MockTransport(lambda request: next(answers)),
        debug_log=lines.append,
    )
    client.list_models()
    assert len(lines) == 3
    assert lines[0].startswith("GET /tailored-gen/models -> 503 Service Unavailable (")
    assert lines[1].startswith("GET /tailored-gen/models: retrying in ")
    assert lines[2].startswith("GET /tailored-gen/models -> 200 OK (")
    assert lines[2].endswith(" ms) attempt 2")
    assert not any(TOKEN in line or "api_token" in line for line in lines)


@pytest.mark.parametrize("token", ["", "has space", "naïve-token", "line\nbreak"])
def test_unusable_token_is_a_clear_error(token: str) -> None:
    from reconciler.errors import ReconcilerError

    with pytest.raises(ReconcilerError, match="cannot be sent in a header; check BRIA_API_TOKEN"):
        BriaClient("https://bria.test/v1", token)


def test_shared_fixtures_give_a_working_client_on_a_real_socket(
    client: BriaClient, emulator: EmulatorServer
) -> None:
    assert emulator.url.startswith("http://127.0.0.1:") and emulator.url.endswith("/v1")
    created = client.create_project(project_name="p", ip_type="icons", ip_medium="illustration")
    assert [p.id for p in client.list_projects()] == [created.id]
    assert client.stats.snapshot()["by_route"] == {
        "GET /tailored-gen/projects": 1,
        "POST /tailored-gen/projects": 1,
    }


@pytest.mark.parametrize("suffix", ["", "/v2"])
def test_a_base_url_without_v1_says_to_check_the_api_url(
    emulator: EmulatorServer, suffix: str
) -> None:
    """A 404 on a route without ids means the base URL is wrong, not that a resource is gone."""
    with BriaClient(emulator.root_url + suffix, EMULATOR_TOKEN, max_retries=0) as wrong:
        with pytest.raises(NotFound) as caught:
            wrong.list_projects()
    assert str(caught.value) == (
        "GET /tailored-gen/projects: 404 Not Found: Not Found (no such route: check --api-url "
        "or BRIA_API_URL, which ends in /v1)"
    )


def test_a_404_for_an_id_is_not_blamed_on_the_api_url(client: BriaClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.get_project(999999)
    assert (
        str(caught.value) == "GET /tailored-gen/projects/999999: 404 Not Found: Project not found"
    )
    with pytest.raises(NotFound) as created:
        client.create_dataset(project_id=999999, name="d")
    assert str(created.value) == "POST /tailored-gen/datasets: 404 Not Found: Project not found"
