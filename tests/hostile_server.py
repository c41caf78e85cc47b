"""A tiny, scripted, real HTTP server that answers like a broken or hostile Bria.

The hostile-answer tests need answers the emulator never gives: malformed JSON, HTML error pages,
wrong shapes, bodies cut off mid-way, redirects. `HostileServer` is a stdlib `http.server` in a
thread on port 0 that records every request it receives (method, path, headers, body) and answers
from a script of `Rule`s. A request no rule takes is forwarded to an upstream (a real
`EmulatorServer`), so a test can let most of a run go through to a faithful account and break
just one answer; a rule with `forward=True` sends the request upstream first (the write really
happens) and then replaces the answer (the answer is what gets lost or mangled).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
HTML_502 = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>\n"
)
HTML_LOGIN = (
    "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>"
    "<body><form>user <input name=u></form></body></html>\n"
)


@dataclass(frozen=True)
class Answer:
    """What to send back. `body` may be bytes, text or any JSON value (sent as JSON).

    `cut_after`: announce the whole body's Content-Length but send only this many bytes, then
    close the connection (a truncated answer). `hang_up`: close without answering at all.
    """

    status: int = 200
    body: Any = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    cut_after: int | None = None
    hang_up: bool = False

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "application/json"
        return json.dumps(self.body).encode(), self.content_type or "application/json"


def html(status: int, page: str = HTML_502) -> Answer:
    return Answer(status=status, body=page, content_type="text/html; charset=utf-8")


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def route(self) -> str:
        return f"{self.method} {self.path.partition('?')[0]}"


@dataclass
class Rule:
    """Answer `method` requests whose path (without query) fully matches `path` (a regex).

    `times`: how many matching requests to take (None: all). `forward`: send the request
    upstream first, then answer with `answer`. `answer` may be a function of the request.
    """

    method: str
    path: str
    answer: Answer | Callable[[Recorded], Answer]
    times: int | None = None
    forward: bool = False
    taken: int = field(default=0, init=False)

    def takes(self, request: Recorded) -> bool:
        if request.method != self.method or (self.times is not None and self.taken >= self.times):
            return False
        return re.fullmatch(self.path, request.path.partition("?")[0]) is not None


class HostileServer:
    """The scripted server; a context manager. `url` ends in `/v1` like the emulator's."""

    def __init__(self, upstream: str | None = None, *, host: str = "127.0.0.1") -> None:
        self.upstream = upstream.removesuffix("/v1") if upstream else None
        self.rules: list[Rule] = []
        self.requests: list[Recorded] = []
        self.history: list[Recorded] = []  # every request since start; `script` keeps it
        self.hostile_answers: list[int] = []  # indexes into `requests` answered by a rule
        self._lock = threading.Lock()
        # one pooled client for every forward (thread-safe): no client and no connection to
        # build per request; plain http to the emulator, so no CA bundle is loaded
        self._upstream = httpx.Client(timeout=60, verify=False)
        self._httpd = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        port = self._httpd.server_address[1]
        self.url = f"http://{host}:{port}/v1"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._upstream.close()

    # ------------------------------------------------------------ scripting

    def script(self, *rules: Rule) -> None:
        """Replace the rules and forget what was received."""
        with self._lock:
            self.rules = list(rules)
            self.requests = []
            self.hostile_answers = []

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in WRITE_METHODS]

    def writes_after_first_hostile_answer(self) -> list[Recorded]:
        if not self.hostile_answers:
            return []
        first = self.hostile_answers[0]
        return [r for r in self.requests[first + 1 :] if r.method in WRITE_METHODS]

    def routes(self) -> list[str]:
        return [r.route for r in self.requests]

    # ------------------------------------------------------------ serving

    def _decide(self, request: Recorded) -> tuple[Rule | None, int]:
        with self._lock:
            self.requests.append(request)
            self.history.append(request)
            index = len(self.requests) - 1
            for rule in self.rules:
                if rule.takes(request):
                    rule.taken += 1
                    self.hostile_answers.append(index)
                    return rule, index
        return None, index

    def forward(self, request: Recorded) -> Answer:
        if self.upstream is None:
            return Answer(404, {"message": f"no rule for {request.route} and no upstream"})
        headers = {k: v for k, v in request.headers.items() if k not in {"host", "content-length"}}
        response = self._upstream.request(
            request.method, self.upstream + request.path, headers=headers, content=request.body
        )
        extra = tuple(
            (k, v) for k, v in response.headers.items() if k.lower() in {"retry-after", "location"}
        )
        return Answer(
            response.status_code,
            response.content,
            response.headers.get("content-type", "application/json"),
            headers=extra,
        )

    def answer(self, request: Recorded) -> Answer:
        rule, _index = self._decide(request)
        if rule is None:
            return self.forward(request)
        if rule.forward:
            self.forward(request)
        return rule.answer(request) if callable(rule.answer) else rule.answer


def _handler_for(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in separate writes: with Nagle's algorithm on, the body waits
        # for the client's delayed ACK of the headers, 40 ms on every answer
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Recorded(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            answer = server.answer(request)
            if answer.hang_up:
                self.close_connection = True
                return
            payload, content_type = answer.payload()
            self.send_response(answer.status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            for name, value in answer.headers:
                self.send_header(name, value)
            if answer.cut_after is not None:
                self.send_header("connection", "close")
            self.end_headers()
            if answer.cut_after is not None:
                self.wfile.write(payload[: answer.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    return Handler
