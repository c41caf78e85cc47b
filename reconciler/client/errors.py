"""The client's own error hierarchy: what went wrong talking to Bria, as types callers can act on.

Every error names the call (`POST /tailored-gen/datasets/12/images`), the status and Bria's own
message, cut short; never a header and never the token (messages pass through
`reconciler.secrets.redact`). Whether a failure may be retried is a property of its type
(`retryable`); whether a request without an answer may already have acted is `maybe_sent` on
`TransportError`, which the apply engine needs to recognise its own work before writing again.
All of them are `ReconcilerError`s, so the CLI prints them as one red line.
"""

from __future__ import annotations

from http import HTTPStatus

from reconciler.errors import ReconcilerError
from reconciler.secrets import redact

MESSAGE_LIMIT = 300


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """One line, at most `limit` characters, token redacted."""
    one_line = " ".join(redact(text).split())
    if len(one_line) <= limit:
        return one_line
    return one_line[: limit - 3].rstrip() + "..."


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


class BriaError(ReconcilerError):
    """A call to Bria that did not give a usable answer."""

    retryable: bool = False

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        api_message: str | None,
        *,
        detail: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.api_message = shorten(api_message) if api_message else None
        self.detail = detail
        self.attempts = attempts
        super().__init__(self._render())

    @property
    def call(self) -> str:
        """`METHOD /path`, the subject of every message."""
        return f"{self.method} {self.path}"

    def _render(self) -> str:
        parts = [self.call]
        if self.status is not None:
            parts.append(f"{self.status} {status_phrase(self.status)}")
        if self.api_message:
            parts.append(self.api_message)
        if self.detail:
            parts.append(self.detail)
        text = ": ".join(parts)
        if self.attempts > 1:
            text += f" (gave up after {self.attempts} attempts)"
        return redact(text)

    def with_attempts(self, attempts: int) -> None:
        """Say in the message how many attempts were made before giving up."""
        self.attempts = attempts
        self.args = (self._render(),)


class TransportError(BriaError):
    """No HTTP answer at all: timeout, refused, reset or dropped connection.

    `maybe_sent` is False only when the request surely never left (the connection was never
    established); otherwise Bria may have acted on it and only the answer was lost.
    """

    retryable = True

    def __init__(
        self, method: str, path: str, reason: str, *, maybe_sent: bool, attempts: int = 1
    ) -> None:
        self.maybe_sent = maybe_sent
        self.reason = reason
        hint = (
            "the request may have reached Bria; re-read before repeating a write"
            if maybe_sent
            else "the request was not sent; check the network and --api-url"
        )
        super().__init__(
            method, path, None, None, detail=f"no response ({reason}); {hint}", attempts=attempts
        )


class MalformedResponse(BriaError):
    """An answer we cannot read safely: not JSON, an HTML page, a missing or mistyped field."""

    def __init__(self, method: str, path: str, status: int | None, problem: str) -> None:
        self.problem = shorten(problem)
        super().__init__(method, path, None, None, detail=f"malformed response: {self.problem}")
        self.status = status


class InsecureTransportError(BriaError):
    """Refused before sending anything: the token would travel in clear or to the wrong host."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__("", "", None, None)
        self.args = (redact(f"API URL '{url}' {reason}"),)


class ResponseError(BriaError):
    """Bria answered with an error status (also the base for statuses without a class)."""

    def __init__(
        self, method: str, path: str, status: int, api_message: str | None, *, attempts: int = 1
    ) -> None:
        super().__init__(method, path, status, api_message, attempts=attempts)


class UnexpectedRedirect(ResponseError):
    """A 3xx: never followed, so the token never travels to the host it points at."""

    def __init__(self, method: str, path: str, status: int, location_host: str | None) -> None:
        self.location_host = location_host
        target = f"host '{location_host}'" if location_host else "an unnamed location"
        super().__init__(
            method,
            path,
            status,
            f"redirected to {target}, which the client never follows "
            "(set --api-url to the API's final address)",
        )


class BadRequest(ResponseError):
    """400: the request broke one of the API's rules."""


class Unauthorized(ResponseError):
    """401: the token is missing or wrong. `token_source` says where the token came from (the
    client sets it), so a 401 anywhere in a run names the right place to look."""

    token_source = "BRIA_API_TOKEN"

    def _render(self) -> str:
        return super()._render() + f" (check {self.token_source})"

    def with_token_source(self, source: str) -> None:
        """Say in the message where the token came from."""
        self.token_source = source
        self.args = (self._render(),)


class Forbidden(ResponseError):
    """403."""


class NotFound(ResponseError):
    """404: the id does not exist (or no longer does). On a list without ids (GET
    /tailored-gen/projects) it means the route itself is unknown: the base URL is wrong. (A
    create without ids in its path may 404 for an id in its body: no hint there.)"""

    def _render(self) -> str:
        text = super()._render()
        if self.method == "GET" and not any(s.isdigit() for s in self.path.split("/")):
            text += " (no such route: check --api-url or BRIA_API_URL, which ends in /v1)"
        return text


class Conflict(ResponseError):
    """409: the resource is in a state that forbids this (completed dataset, model training)."""


class Gone(ResponseError):
    """410: the resource was deleted."""


class PreconditionFailed(ResponseError):
    """412: a precondition such as a completed dataset or a 1024x1024 image is not met."""


class UnsupportedMediaType(ResponseError):
    """415: the bytes are not an accepted image format."""


class Unprocessable(ResponseError):
    """422: the input was well-formed but could not be used (e.g. an unreachable image URL)."""


class RateLimited(ResponseError):
    """429: slow down; `retry_after` is Bria's Retry-After in seconds, when it sent one."""

    retryable = True

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        api_message: str | None,
        *,
        retry_after: float | None = None,
        attempts: int = 1,
    ) -> None:
        self.retry_after = retry_after
        self.max_wait: float | None = None
        super().__init__(method, path, status, api_message, attempts=attempts)

    def beyond_wait(self, max_wait: float) -> None:
        """Say that Bria asked for a longer pause than we wait (`--max-rate-wait`)."""
        self.max_wait = max_wait
        self.args = (self._render(),)

    def _render(self) -> str:
        text = super()._render()
        if self.retry_after is not None:
            text += f" (Retry-After {self.retry_after:g}s"
            if self.max_wait is not None:
                text += (
                    f", longer than the {self.max_wait:g} s we wait: try again later or raise "
                    "--max-rate-wait"
                )
            text += ")"
        return text


class ServerError(ResponseError):
    """5xx: Bria failed; for a write, it may or may not have acted."""

    retryable = True


ERRORS_BY_STATUS: dict[int, type[ResponseError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    412: PreconditionFailed,
    415: UnsupportedMediaType,
    422: Unprocessable,
}
