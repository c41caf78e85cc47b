"""HTTP routing: the reference's `/v1` routes -> behaviour, plus admin and file routes.

The `current` API profile adds the published OpenAPI's routes (generate_visual_schema,
checkpoints, and `/v2` generation with its status service); the reference profile serves
exactly the reference's routes.

Each `/v1` route goes through one wrapper that applies the fault knobs, checks the
`api_token` header, parses the JSON body, runs the (synchronous, storage-locking) operation,
and turns `ApiError` into `{"message": ...}` with its status. Operations run on the event loop
itself (a few SQLite statements: a worker-thread handoff cost more CPU than the work), except
those in `OFF_LOOP`: they fetch URLs, which may be this emulator's own `/files` answered by this
very loop (a deadlock on the loop), or decode images (slow); those run in a worker thread, but
for uploads of small files (no fetch, a quick decode).
Admin routes (`/_emulator/...`) and file routes (`/files/...`) have no auth and are never
faulted.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from reconciler.emulator import admin
from reconciler.emulator.behaviour import Account
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.faults import FaultDecision, FaultInjector
from reconciler.emulator.generation_v2 import GenerationV2
from reconciler.emulator.images import MAX_FILE_BYTES
from reconciler.emulator.route_table import RouteTable
from reconciler.emulator.rules import ApiError, parse_id
from reconciler.emulator.storage import Storage
from reconciler.emulator.training import Models
from reconciler.emulator.visual_schema import generate_visual_schema

_log = logging.getLogger("reconciler.emulator")

RATE_LIMIT_MESSAGE = (
    "Request limit exceeded. Your account has reached its maximum allowed requests. "
    "Please upgrade your plan or try again later."
)


@dataclass
class Emulator:
    """Everything a handler needs; one per app."""

    config: EmulatorConfig
    storage: Storage
    account: Account
    models: Models
    faults: FaultInjector
    generation_v2: GenerationV2


@dataclass(frozen=True)
class Call:
    """One parsed `/v1` request; its query and URLs are worked out only if the operation asks."""

    request: Request
    body: Any

    @property
    def params(self) -> dict[str, str]:
        return self.request.path_params

    @functools.cached_property
    def api_root(self) -> str:
        """scheme://host[:port], for the status_url of a v2 generation."""
        return str(self.request.base_url).rstrip("/")

    @property
    def files_url(self) -> str:
        return self.api_root + "/files"

    def id(self, name: str, kind: str) -> int:
        return parse_id(self.params[name], kind)

    def flag(self, name: str) -> bool:
        """A boolean query parameter: `true`/`false` in any case (absent is false), else 400."""
        value = self.request.query_params.get(name, "false").lower()
        if value not in ("true", "false"):
            raise ApiError(400, f"Invalid {name}: must be a boolean (true or false)")
        return value == "true"


Result = tuple[int, Any]
Handler = Callable[[Emulator, Call], Result]

UPLOAD = ("POST", "/v1/tailored-gen/datasets/{dataset_id}/images")
# Operations run in a worker thread, not on the event loop (method, route template): uploads and
# visual schemas may fetch an `image_url` (possibly this emulator's own `/files`, which the loop
# must stay free to answer), and they and the generation routes decode images.
OFF_LOOP = frozenset({
    UPLOAD,
    ("POST", "/v1/tailored-gen/generate_visual_schema"),
    ("POST", "/v1/text-to-image/tailored/{model_id}"),
    ("POST", "/v1/text-to-vector/tailored/{model_id}"),
    ("POST", "/v1/reimagine/tailored/{model_id}"),
    ("POST", "/v2/image/generate/tailored"),
})  # fmt: skip
# An upload of a `file` whose request body is at most this is checked on the loop all the same
# (a small image decodes in less time than a thread handoff costs); one by `image_url` or of a
# bigger file goes to a worker thread.
INLINE_UPLOAD_BYTES = 256 * 1024


def _small_file_upload(call: Call, body_bytes: int) -> bool:
    body = call.body
    return isinstance(body, dict) and "image_url" not in body and body_bytes <= INLINE_UPLOAD_BYTES


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every fetch: building one loads the CA bundle (~20 ms of
    CPU, which each `image_url` upload and each URL of a visual schema paid)."""
    return httpx.create_ssl_context()


def _fetch_image_url(url: str) -> bytes:
    """Download an `image_url` upload; anything unusable is Bria's 422."""
    try:
        with httpx.Client(timeout=10.0, follow_redirects=True, verify=_tls_context()) as client:
            with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ApiError(
                        422, "The URL does not point to a valid image or is inaccessible"
                    )
                data = b""
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_FILE_BYTES:
                        break
                return data
    except (httpx.HTTPError, ValueError):
        raise ApiError(422, "The URL does not point to a valid image or is inaccessible") from None


def _projects() -> list[tuple[str, str, Handler]]:
    return [
        ("POST", "/tailored-gen/projects", lambda e, c: (201, e.account.create_project(c.body))),
        ("GET", "/tailored-gen/projects", lambda e, c: (200, e.account.list_projects())),
        ("GET", "/tailored-gen/projects/{project_id}",
         lambda e, c: (200, e.account.get_project(c.id("project_id", "Project")))),
        ("PUT", "/tailored-gen/projects/{project_id}",
         lambda e, c: (200, e.account.update_project(c.id("project_id", "Project"), c.body))),
        ("DELETE", "/tailored-gen/projects/{project_id}",
         lambda e, c: (204, e.account.delete_project(c.id("project_id", "Project")))),
        ("GET", "/tailored-gen/projects/{project_id}/datasets",
         lambda e, c: (200, e.account.list_project_datasets(
             c.id("project_id", "Project"), include_models=c.flag("include_models"),
             include_models_ids=c.flag("include_models_ids")))),
        ("GET", "/tailored-gen/projects/{project_id}/models",
         lambda e, c: (200, e.models.list_for_project(
             c.id("project_id", "Project"),
             with_training=c.flag("include_training_parameters")))),
    ]  # fmt: skip


def _datasets() -> list[tuple[str, str, Handler]]:
    ds = "/tailored-gen/datasets/{dataset_id}"

    def did(c: Call) -> int:
        return c.id("dataset_id", "Dataset")

    def iid(c: Call) -> int:
        return c.id("image_id", "Image")

    return [
        ("POST", "/tailored-gen/datasets", lambda e, c: (201, e.account.create_dataset(c.body))),
        ("GET", "/tailored-gen/datasets", lambda e, c: (200, e.account.list_datasets())),
        ("GET", ds, lambda e, c: (200, e.account.get_dataset(did(c), c.files_url))),
        ("PUT", ds, lambda e, c: (200, e.account.update_dataset(did(c), c.body))),
        ("DELETE", ds, lambda e, c: (204, e.account.delete_dataset(did(c)))),
        ("POST", ds + "/clone",
         lambda e, c: (201, e.account.clone_dataset(did(c), c.body, c.files_url))),
        ("POST", ds + "/images",
         lambda e, c: (201, e.account.upload_image(did(c), c.body, c.files_url))),
        ("GET", ds + "/images", lambda e, c: (200, e.account.list_images(did(c), c.files_url))),
        ("PUT", ds + "/images", lambda e, c: (202, e.account.regenerate_captions(did(c)))),
        ("GET", ds + "/images/{image_id}",
         lambda e, c: (200, e.account.get_image(did(c), iid(c), c.files_url))),
        ("PUT", ds + "/images/{image_id}",
         lambda e, c: (200, e.account.update_caption(did(c), iid(c), c.body, c.files_url))),
        ("DELETE", ds + "/images/{image_id}",
         lambda e, c: (204, e.account.delete_image(did(c), iid(c)))),
    ]  # fmt: skip


def _models() -> list[tuple[str, str, Handler]]:
    md = "/tailored-gen/models/{model_id}"

    def mid(c: Call) -> int:
        return c.id("model_id", "Model")

    def generation(route: str) -> Handler:
        return lambda e, c: (200, e.models.generate(route, mid(c), c.body, c.files_url))

    return [
        ("POST", "/tailored-gen/models", lambda e, c: (201, e.models.create(c.body))),
        ("GET", "/tailored-gen/models", lambda e, c: (200, e.models.list_all(
            with_training=c.flag("include_training_parameters")))),
        ("GET", md, lambda e, c: (200, e.models.get(mid(c)))),
        ("PUT", md, lambda e, c: (200, e.models.update(mid(c), c.body))),
        ("DELETE", md, lambda e, c: (204, e.models.delete(mid(c)))),
        ("POST", md + "/start_training",
         lambda e, c: (200, e.models.start_training(mid(c), c.body))),
        ("POST", md + "/stop_training", lambda e, c: (200, e.models.stop_training(mid(c)))),
        ("POST", "/text-to-image/tailored/{model_id}", generation("text-to-image")),
        ("POST", "/text-to-vector/tailored/{model_id}", generation("text-to-vector")),
        ("POST", "/reimagine/tailored/{model_id}", generation("reimagine")),
    ]  # fmt: skip


def _current_v1() -> list[tuple[str, str, Handler]]:
    """The published OpenAPI's `/v1` routes the reference does not have."""
    md = "/tailored-gen/models/{model_id}"

    def mid(c: Call) -> int:
        return c.id("model_id", "Model")

    def step(c: Call) -> int:
        return c.id("checkpoint_step", "Checkpoint")

    return [
        ("POST", "/tailored-gen/generate_visual_schema",
         lambda e, c: (200, generate_visual_schema(c.body, e.account.fetch_url))),
        ("GET", md + "/checkpoints", lambda e, c: (200, e.models.list_checkpoints(mid(c)))),
        ("GET", md + "/checkpoints/{checkpoint_step}",
         lambda e, c: (200, e.models.get_checkpoint(mid(c), step(c)))),
        ("DELETE", md + "/checkpoints/{checkpoint_step}",
         lambda e, c: (204, e.models.delete_checkpoint(mid(c), step(c)))),
    ]  # fmt: skip


def _current_v2() -> list[tuple[str, str, Handler]]:
    return [
        ("POST", "/image/generate/tailored",
         lambda e, c: e.generation_v2.generate(c.body, c.api_root, c.files_url)),
        ("GET", "/status/{request_id}",
         lambda e, c: (200, e.generation_v2.status(c.params["request_id"]))),
    ]  # fmt: skip


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _authorised(config: EmulatorConfig, request: Request) -> str | None:
    """None when the api_token is acceptable, else the 401 message."""
    given = request.headers.get("api_token", "")
    if not given:
        return "Unauthorized: missing api_token header"
    if config.token is not None and not hmac.compare_digest(given, config.token):
        return "Unauthorized: invalid api_token"
    return None


async def _parse_body(request: Request) -> Any:
    if request.method not in ("POST", "PUT"):
        return None
    raw = await request.body()
    if not raw.strip():
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(415, "Content-Type must be application/json")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "Invalid request body: malformed JSON") from None


def _api_endpoint(emulator: Emulator, method: str, route_name: str, handler: Handler) -> Any:
    off_loop = (method, route_name) in OFF_LOOP
    upload = (method, route_name) == UPLOAD

    async def endpoint(request: Request) -> Response:
        decision = emulator.faults.decide(method, route_name)
        response = await _answer(request, decision)
        if decision.lose_response:
            response = _message(500, "Internal server error")
        emulator.faults.record_status(response.status_code)
        return response

    async def _answer(request: Request, decision: FaultDecision) -> Response:
        if emulator.config.latency:
            await anyio.sleep(emulator.config.latency)
        if decision.rate_limited:
            return _message(429, RATE_LIMIT_MESSAGE, {"Retry-After": decision.retry_after})
        if decision.fail_before:
            return _message(500, "Internal server error")
        refusal = _authorised(emulator.config, request)
        if refusal:
            return _message(401, refusal)
        try:
            call = Call(request, await _parse_body(request))
            if off_loop and not (upload and _small_file_upload(call, len(await request.body()))):
                status, body = await run_in_threadpool(handler, emulator, call)
            else:
                status, body = handler(emulator, call)
        except ApiError as err:
            return _message(err.status, err.message, err.headers)
        except Exception:  # an emulator bug: answer like Bria would, keep the trace in the log
            _log.exception("unexpected error in %s %s", method, route_name)
            return _message(500, "Internal server error")
        if status == 204:
            return Response(status_code=204)
        return JSONResponse(body, status_code=status)

    return endpoint


def build_emulator(config: EmulatorConfig, data_dir: Path) -> Emulator:
    storage = Storage(data_dir)
    account = Account(storage, config, fetch_url=_fetch_image_url)
    return Emulator(
        config, storage, account, Models(account), FaultInjector(config), GenerationV2(account)
    )


def create_app(config: EmulatorConfig, data_dir: Path) -> Starlette:
    """The emulator as an ASGI app over the state in `data_dir`."""
    emulator = build_emulator(config, Path(data_dir))
    # Each route also answers with a trailing slash (the route table allows one), which the
    # reference itself writes in places ("PUT /datasets/{dataset_id}/images/"), instead of
    # redirecting (a client that does not follow redirects would fail); both count as one route
    # in the stats.
    served = [("/v1", route) for route in _projects() + _datasets() + _models()]
    if config.current:
        served += [("/v1", route) for route in _current_v1()]
        served += [("/v2", route) for route in _current_v2()]
    table = RouteTable(
        (method, version + template, _api_endpoint(emulator, method, version + template, handler))
        for version, (method, template, handler) in served
    )
    routes: list[BaseRoute] = [table, *admin.routes(emulator)]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _message(exc.status_code, str(exc.detail))

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.emulator = emulator
    return app
