"""Calls a generation route, waits for the results and downloads them.

With `sync: false` (text-to-image's default) Bria answers at once with the URLs of images still
being generated: each URL is polled until it serves the image, with growing pauses, bounded by a
timeout, reporting progress. A failed download (no answer, a 5xx) is polled again the same way:
the images are paid for, and fetching one again costs nothing. Result URLs are public storage
URLs, so they are fetched without the API token (a separate HTTP client that never sees it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.client import BriaClient
from reconciler.client.errors import ServerError, TransportError
from reconciler.client.http import shared_tls_context
from reconciler.client.retry_policy import Backoff
from reconciler.errors import ReconcilerError
from reconciler.generation.rules import ROUTE_VECTOR, GenerationRequest

DEFAULT_RESULT_TIMEOUT = 300.0
NOT_READY = frozenset({202, 403, 404, 409, 425})  # storage answers before the file exists
TRANSIENT = frozenset({429, 500, 502, 503, 504})  # storage hiccups: polled again, like not ready
FIRST_PAUSE, MAX_PAUSE = 0.2, 5.0


class GenerationFailed(ReconcilerError):
    """Bria's answer carries no usable result, or the results never became ready."""


@dataclass(frozen=True)
class Result:
    url: str
    seed: int | None


@dataclass(frozen=True)
class Image:
    data: bytes
    seed: int | None
    extension: str  # ".png", ".jpg", ".webp", ".svg"


def call_route(client: BriaClient, request: GenerationRequest) -> Mapping[str, Any]:
    """One POST, never retried after a failure that may have acted (a 5xx, a lost answer): a
    retry could pay twice for the same images, so the user decides (the message says so)."""
    params = dict(request.params)
    try:
        match request.route:
            case "text-to-image":
                return client.text_to_image(request.model_id, **params)
            case "text-to-vector":
                return client.text_to_vector(request.model_id, **params)
            case "reimagine":
                return client.reimagine(request.model_id, **params)
    except (ServerError, TransportError) as err:
        if err.attempts > 1:  # the client retried it: it knew the request was not acted on
            raise
        raise GenerationFailed(
            f"{err}; not retried, as Bria may have generated (and charged for) the images "
            "already: run the command again to try once more"
        ) from err
    raise AssertionError(f"unknown route {request.route}")  # pragma: no cover


def results_of(answer: Mapping[str, Any], route: str) -> list[Result]:
    """The result URLs and seeds of an answer: `{"result": [{"urls": [...], "seed": n}, ...]}`
    (Bria v1), also `url`/`image_url` items or a bare `urls` list. Blocked results are skipped.
    An answer of none of these shapes gives every URL found under a key naming one."""
    items = answer.get("result", answer.get("results"))
    if items is None and isinstance(answer.get("urls"), list):
        items = [{"urls": answer["urls"], "seed": answer.get("seed")}]
    if isinstance(items, dict):
        items = [items]
    found: list[Result] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("blocked") is True:
            continue
        seed = item.get("seed")
        seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
        urls = item.get("urls")
        candidates = urls if isinstance(urls, list) else [item.get("url"), item.get("image_url")]
        for url in candidates:
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                found.append(Result(url, seed))
                break
    if not found:
        found = [Result(url, None) for url in _urls_anywhere(answer)]
    if not found:
        keys = ", ".join(sorted(answer)) or "none"
        raise GenerationFailed(f"{route}: Bria's answer holds no result URL (keys: {keys})")
    return found


def _urls_anywhere(value: Any, key: str = "") -> list[str]:
    """Every http(s) string under a key naming a URL, in order: for answers of another shape."""
    if isinstance(value, str):
        is_url = value.startswith(("http://", "https://")) and "url" in key.lower()
        return [value] if is_url else []
    if isinstance(value, dict):
        return [u for k, v in value.items() for u in _urls_anywhere(v, str(k))]
    if isinstance(value, list):
        return [u for item in value for u in _urls_anywhere(item, key)]
    return []


def extension_of(data: bytes, route: str) -> str:
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        return ".svg"
    return ".svg" if route == ROUTE_VECTOR else ".png"


def download_results(
    results: list[Result],
    route: str,
    *,
    timeout: float = DEFAULT_RESULT_TIMEOUT,
    progress: Callable[[str], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[Image]:
    """Every result's image, polling the ones not ready yet until `timeout` seconds pass."""
    images: dict[int, Image] = {}
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    pauses = Backoff(base=FIRST_PAUSE, cap=MAX_PAUSE, jitter=False).pauses()
    pause = next(pauses)
    last_problem: str | None = None  # the latest transient failure, for the final message
    with httpx.Client(
        timeout=60.0, follow_redirects=True, transport=transport, verify=shared_tls_context(True)
    ) as http:
        while True:
            for index, result in enumerate(results):
                if index in images:
                    continue
                data, problem = _fetch(http, result.url)
                if data is not None:
                    images[index] = Image(data, result.seed, extension_of(data, route))
                elif problem:
                    last_problem = problem
            waiting = len(results) - len(images)
            if not waiting:
                return [images[index] for index in range(len(results))]
            elapsed = time.monotonic() - started
            if time.monotonic() + pause > deadline:
                if last_problem:
                    raise GenerationFailed(
                        f"downloading a result failed: {last_problem} (retried for "
                        f"{elapsed:.0f}s, bounded by {timeout:g}s)"
                    )
                raise GenerationFailed(
                    f"{route}: {waiting} of {len(results)} results were not ready after "
                    f"{elapsed:.0f}s (bounded by {timeout:g}s); Bria may still be generating them"
                )
            if progress:
                progress(
                    f"waiting for {waiting} of {len(results)} results to be ready ({elapsed:.0f}s)"
                )
            time.sleep(pause)
            pause = next(pauses)


def _fetch(http: httpx.Client, url: str) -> tuple[bytes | None, str | None]:
    """(the file, None), or (None, why) while it is not there yet: not ready, a transient
    failure (no answer, a 5xx: the GET is repeated, it costs nothing); other answers are errors."""
    try:
        response = http.get(url)
    except httpx.HTTPError as err:
        return None, f"GET {_shown(url)}: {type(err).__name__}"
    if response.status_code in NOT_READY or (response.status_code == 200 and not response.content):
        return None, None  # an empty 200: a placeholder written before the image, as storage may
    if response.status_code in TRANSIENT:
        return None, f"GET {_shown(url)}: {response.status_code}"
    if response.status_code != 200:
        raise GenerationFailed(
            f"downloading a result failed: GET {_shown(url)}: {response.status_code}"
        )
    return response.content, None


def _shown(url: str) -> str:
    """A result URL without its query string (presigned URLs carry signatures there)."""
    return url.split("?", 1)[0]
