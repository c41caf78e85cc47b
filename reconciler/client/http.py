"""The wire: one place that sends requests to Bria, so every call gets the same rules.

* The token travels only in the `api_token` header, only over https (plain http only to loopback
  hosts or to an in-process transport), and never on a redirect: redirects are not followed.
* Every call has connect/read/write/pool timeouts, and each attempt an overall `deadline`
  (`reconciler.client.deadline`), so an answer dripped byte by byte cannot hang a run.
* Every request waits for its endpoint's rate-limit budget (`pacing.EndpointPacer`, shared by
  all worker threads); a 429 pauses that endpoint for everyone until its Retry-After.
* Retries follow `retry_policy` (the one home of who retries what): reads and idempotent PUTs on
  429, 5xx and no response; non-idempotent writes (POST, DELETE) only on 429 and when the request
  surely never left, because a 5xx or a lost answer may hide a write that happened - the apply
  engine re-reads first. Pauses come from the shared `Backoff`.
* Answers become JSON values or typed errors (`reconciler.client.errors`); `ClientStats` counts
  every attempt and retry, and `debug_log` gets one line per attempt, never a header.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import json
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from reconciler import __version__
from reconciler.client.deadline import deadline_transport, request_deadline
from reconciler.client.errors import (
    ERRORS_BY_STATUS,
    BriaError,
    InsecureTransportError,
    MalformedResponse,
    RateLimited,
    ResponseError,
    ServerError,
    TransportError,
    Unauthorized,
    UnexpectedRedirect,
    shorten,
)
from reconciler.client.pacing import EndpointPacer
from reconciler.client.retry_policy import Backoff, client_may_retry
from reconciler.client.streamed_json import StreamedJson
from reconciler.errors import ReconcilerError
from reconciler.secrets import redact

NO_RESPONSE = "no response"
_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# What decoding a hostile body raises: JSONDecodeError and UnicodeDecodeError are ValueErrors, as
# is an integer over Python's digit limit; nesting deeper than the stack gives RecursionError.
_UNREADABLE_JSON = (ValueError, RecursionError)
# Raised before a connection exists: the request surely never reached Bria.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError,
               httpx.UnsupportedProtocol)  # fmt: skip


@dataclass
class ClientStats:
    """Every attempt counted: `requests` in total, `by_route` per "METHOD /route/{template}",
    `by_status` per status code ("no response" for transport failures), and `retries`."""

    requests: int = 0
    retries: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_attempt(self, route: str, status: int | None) -> None:
        with self._lock:
            self.requests += 1
            self.by_route[route] += 1
            self.by_status[NO_RESPONSE if status is None else str(status)] += 1

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def snapshot(self) -> dict[str, Any]:
        """A plain, JSON-ready copy (for bench reports and tests)."""
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "by_route": dict(sorted(self.by_route.items())),
                "by_status": dict(sorted(self.by_status.items())),
            }


def is_loopback_host(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@functools.cache
def shared_tls_context(trust_env: bool) -> ssl.SSLContext:
    """One verifying TLS context per process: building one loads the CA bundle (~50 ms), and
    every client would otherwise build one per session (two per BriaClient)."""
    return httpx.create_ssl_context(trust_env=trust_env)


def check_base_url(base_url: str, transport: httpx.BaseTransport | None) -> httpx.URL:
    """The base URL, or InsecureTransportError before anything is sent.

    Plain http is allowed to loopback hosts, and to a caller-supplied transport that is not a
    network transport (an in-process ASGI app or a mock: nothing leaves the process)."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InsecureTransportError(base_url, f"is not a valid URL ({exc})") from exc
    if not url.host:
        raise InsecureTransportError(base_url, "has no host (expected https://HOST/v1)")
    if url.username or url.password:
        shown = str(url.copy_with(userinfo=b""))  # never echo a password
        raise InsecureTransportError(
            shown, "carries credentials; remove them (the token goes in BRIA_API_TOKEN)"
        )
    if "?" in base_url or "#" in base_url:
        shown = str(url.copy_with(query=None, fragment=None)).rstrip("?#")  # never echo it
        raise InsecureTransportError(
            shown,
            "carries a query string or fragment; remove it (the token goes in BRIA_API_TOKEN "
            "or --token-file, never in the URL)",
        )
    if url.scheme == "https":
        return url
    if url.scheme != "http":
        raise InsecureTransportError(base_url, f"uses '{url.scheme}'; use https")
    in_process = transport is not None and not isinstance(transport, httpx.HTTPTransport)
    if not (is_loopback_host(url.host) or in_process):
        raise InsecureTransportError(
            base_url,
            f"uses plain http to '{url.host}', which would send the API token in clear; use "
            "https (plain http is allowed only to 127.0.0.1, ::1 and localhost)",
        )
    return url


def check_token(token: str) -> None:
    if not _TOKEN_CHARS.match(token):
        raise ReconcilerError(
            "the API token is empty or contains spaces or non-ASCII characters, so it cannot be "
            "sent in a header; check BRIA_API_TOKEN (or --token-file)"
        )


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent/unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _looks_like_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    head = response.text[:200].lstrip().lower()
    return "html" in content_type or head.startswith(("<!doctype", "<html"))


def api_message(response: httpx.Response) -> str | None:
    """Bria's own message from an error answer (JSON `message`/`detail`/`error`), or a short
    description of whatever else came back (an HTML page's title, plain text)."""
    if not response.content:
        return None
    if _looks_like_html(response):
        title = _HTML_TITLE.search(response.text)
        return f"HTML page '{shorten(title.group(1), 100)}'" if title else "HTML page"
    try:
        body = response.json()
    except _UNREADABLE_JSON:
        return shorten(response.text)
    return _message_from_json(body)


def _message_from_json(body: Any) -> str:
    """Bria's published error bodies: `{"message": ...}`, a bare JSON string (403 "Quota
    exceeded: ..."), or a validation list `{"errors": [{"msg", "field_name", ...}]}`."""
    if isinstance(body, str) and body:
        return shorten(body)
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list):
        found = [_field_error(item) for item in body["errors"] if isinstance(item, Mapping)]
        if any(found):
            return shorten("; ".join(text for text in found if text))
    if isinstance(body, Mapping):
        for key in ("message", "detail", "error_message", "error", "description"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return shorten(value)
            if isinstance(value, Mapping | list) and value:
                return _message_from_json(value)
    return shorten(json.dumps(body, ensure_ascii=False))


def _field_error(item: Mapping[str, Any]) -> str | None:
    message, field = item.get("msg"), item.get("field_name")
    if not isinstance(message, str):
        return None
    return f"{field}: {message}" if isinstance(field, str) and field else message


def error_for(method: str, path: str, response: httpx.Response) -> ResponseError:
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location")
        host = httpx.URL(location).host if location else None
        return UnexpectedRedirect(method, path, status, host or None)
    message = api_message(response)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimited(method, path, status, message, retry_after=retry_after)
    if status >= 500:
        return ServerError(method, path, status, message)
    return ERRORS_BY_STATUS.get(status, ResponseError)(method, path, status, message)


def decode_json(method: str, path: str, response: httpx.Response) -> Any:
    """The JSON body of a success answer; None for an empty body (204)."""
    if response.status_code == 204 or not response.content.strip():
        return None
    status = response.status_code
    if _looks_like_html(response):
        raise MalformedResponse(method, path, status, f"an HTML page instead of JSON ({status})")
    try:
        return response.json()
    except _UNREADABLE_JSON as exc:
        raise MalformedResponse(
            method, path, status, f"not JSON ({exc.__class__.__name__}: {response.text[:80]!r})"
        ) from exc


class HttpSession:
    """Sends one logical call, paced and with its retries, and returns the decoded JSON answer."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float,
        deadline: float,
        max_retries: int,
        backoff: Backoff,
        pacer: EndpointPacer,
        transport: httpx.BaseTransport | None,
        debug_log: Callable[[str], None] | None,
        stats: ClientStats,
        token_source: str = "BRIA_API_TOKEN",
    ) -> None:
        url = check_base_url(base_url, transport)
        check_token(token)
        self.max_retries = max(0, max_retries)
        self.deadline = deadline
        self.backoff = backoff
        self.pacer = pacer
        self.stats = stats
        self._debug_log = debug_log
        self._token_source = token_source
        trust_env = not is_loopback_host(url.host)
        self._client = httpx.Client(
            base_url=str(url).rstrip("/") + "/",
            headers={
                "api_token": token,
                "accept": "application/json",
                "user-agent": f"reconciler/{__version__}",
            },
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            # Plain http (loopback only, see check_base_url) never does TLS: no context to build.
            transport=transport
            or deadline_transport(
                trust_env=trust_env,
                verify=shared_tls_context(trust_env) if url.scheme == "https" else False,
            ),
            # Environment proxies/netrc only for remote hosts: loopback traffic stays local.
            trust_env=trust_env,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        template: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Send `method path` (paced and counted under `template`), retrying as
        `retry_policy` says, up to `max_retries` times: a 429 after its Retry-After (when that is
        within the pacer's `max_wait`), anything else after a `backoff` pause."""
        endpoint = f"{method} {template}"
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self._send_once(method, endpoint, path, attempts, json_body, params)
                return decode_json(method, path, response)
            except BriaError as err:
                pause = self._retry_pause(method, endpoint, err, attempts)
                if pause is None:
                    if attempts > 1:
                        err.with_attempts(attempts)
                    raise
                self.stats.record_retry()
                if self._debug_log is not None:
                    self._debug_log(redact(f"{method} {path}: retrying in {pause:.2f}s"))
                if pause > 0 and not isinstance(err, RateLimited):
                    time.sleep(pause)  # a 429's pause is the endpoint's, kept by the pacer

    def _retry_pause(
        self, method: str, endpoint: str, err: BriaError, attempts: int
    ) -> float | None:
        """Seconds before the next attempt, or None to give up."""
        if not client_may_retry(method, err) or attempts > self.max_retries:
            return None
        if isinstance(err, RateLimited):
            if err.retry_after is not None and err.retry_after > self.pacer.max_wait:
                err.beyond_wait(self.pacer.max_wait)
                return None
            return self.pacer.rate_limited(endpoint, err.retry_after, self.backoff.delay(attempts))
        return self.backoff.delay(attempts)

    def _send_once(
        self,
        method: str,
        endpoint: str,
        path: str,
        attempt: int,
        json_body: Any,
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        route = endpoint
        self.pacer.acquire(endpoint)  # RateLimitWaitInterrupted: not a BriaError, not retried
        started = time.monotonic()
        try:
            with request_deadline(self.deadline):
                if isinstance(json_body, StreamedJson):  # a large upload, encoded as it goes
                    response = self._client.request(
                        method,
                        path.lstrip("/"),
                        content=json_body.chunks(),
                        headers={
                            "content-type": "application/json",
                            "content-length": str(json_body.length),
                        },
                        params=dict(params) if params else None,
                    )
                else:
                    response = self._client.request(
                        method,
                        path.lstrip("/"),
                        json=json_body,
                        params=dict(params) if params else None,
                    )
        except httpx.HTTPError as exc:
            sent = not isinstance(exc, _NEVER_SENT)
            self.pacer.release(endpoint, counted=sent)
            self.stats.record_attempt(route, None)
            reason = _describe_transport_failure(exc)
            missed = time.monotonic() - started >= self.deadline
            if missed:
                reason = f"no complete answer within {self.deadline:g} s: {reason}"
            self._log(f"{method} {path} -> {NO_RESPONSE}: {reason}", started, attempt)
            error = TransportError(method, path, reason, maybe_sent=sent)
            if missed:
                error.retryable = False  # the same path would drip as slowly again
            raise error from exc
        except BaseException:
            self.pacer.release(endpoint, counted=True)
            raise
        self.pacer.release(endpoint, counted=response.status_code != 429)
        self.stats.record_attempt(route, response.status_code)
        self._log(
            f"{method} {path} -> {response.status_code} {response.reason_phrase}".rstrip(),
            started,
            attempt,
        )
        if response.status_code >= 300:
            answered = error_for(method, path, response)
            if isinstance(answered, Unauthorized):
                answered.with_token_source(self._token_source)
            raise answered
        return response

    def _log(self, line: str, started: float, attempt: int) -> None:
        if self._debug_log is None:
            return
        elapsed_ms = (time.monotonic() - started) * 1000
        suffix = f" attempt {attempt}" if attempt > 1 else ""
        self._debug_log(redact(f"{line} ({elapsed_ms:.0f} ms){suffix}"))


def _describe_transport_failure(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        kind = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc), "")
        return f"{kind} timeout".strip()
    detail = shorten(str(exc), 120)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
