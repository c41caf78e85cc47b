"""An overall deadline for each HTTP request, on top of httpx's per-operation timeouts.

httpx's read timeout bounds each socket read, so an answer dripped one byte every few seconds
(a broken proxy, a hostile server) never trips it and a plan would hang forever. The deadline is
kept per thread (each request runs in the caller's thread) and enforced where the bytes move:
a network backend for httpcore whose streams clamp every connect, read and write timeout to
the time left, so a dripped status line, headers or body all end at the deadline as an
ordinary httpx timeout.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

_local = threading.local()


class DeadlineExceeded(httpcore.ReadTimeout):
    """The request's deadline passed before the answer was complete."""


@contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Every network operation of this thread in the block ends `seconds` from now at latest."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = previous


def _clamp(timeout: float | None) -> float | None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("the request deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _clamp(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(**options: Any) -> httpx.HTTPTransport:
    """httpx's own network transport, its connections made through the deadline backend.

    httpx offers no public hook for the network backend, so the pool's is wrapped in place;
    tests/client/test_client_deadline.py fails if an httpx upgrade moves it."""
    transport = httpx.HTTPTransport(**options)
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if isinstance(inner, httpcore.NetworkBackend):
        pool._network_backend = _DeadlineBackend(inner)  # type: ignore[union-attr]
    return transport
