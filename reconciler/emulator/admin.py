"""Routes outside the API: the admin endpoints tests use, and the files behind result URLs.

`/_emulator/reset` wipes the account, `/_emulator/state` dumps every resource as JSON (with
lazy statuses settled, so tests can assert exact account contents), `/_emulator/config`
changes knobs at runtime, `/_emulator/stats` reports request counts and injected faults.
`/files/...` serves uploaded images, thumbnails and generation results (no auth, like the
public storage URLs Bria hands out). None of these are faulted or counted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.emulator.config import ConfigError
from reconciler.emulator.images import thumbnail
from reconciler.emulator.shapes import model_status, timestamp
from reconciler.emulator.training import model_json_of

if TYPE_CHECKING:
    from reconciler.emulator.app import Emulator


def state_dump(emulator: Emulator) -> dict[str, Any]:
    """Every project, dataset, image and model (deleted models included, status Deleted)."""
    account, storage = emulator.account, emulator.storage
    with storage.transaction():
        account.settle_all()
        now = account.clock()
        projects = [
            {**row, "created_at": timestamp(row["created_at"]),
             "updated_at": timestamp(row["updated_at"])}
            for row in storage.select("projects")
        ]  # fmt: skip
        datasets = [
            {
                "id": row["id"],
                "project_id": row["project_id"],
                "name": row["name"],
                "caption_prefix": row["caption_prefix"],
                "status": row["status"],
                "captions_update_status": row["captions_update_status"],
                "images_count": storage.count("images", "dataset_id = ?", (row["id"],)),
                **(
                    {"visual_schema": row["visual_schema"], "upload_type": row["upload_type"]}
                    if emulator.config.current
                    else {}
                ),
            }
            for row in storage.select("datasets")
        ]
        images = [
            {
                key: row[key]
                for key in ("id", "dataset_id", "image_name", "caption", "caption_source",
                            "sha256", "width", "height")
            }
            for row in storage.select("images")
        ]  # fmt: skip
        models = [
            model_json_of(account, row, model_status(row, now)) for row in storage.select("models")
        ]
    return {"projects": projects, "datasets": datasets, "images": images, "models": models}


def routes(emulator: Emulator) -> list[BaseRoute]:
    async def reset(request: Request) -> Response:
        emulator.storage.wipe()
        emulator.faults.reseed()
        emulator.faults.reset_stats()
        return JSONResponse({"reset": True})

    async def state(request: Request) -> Response:
        return JSONResponse(state_dump(emulator))

    async def config(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(emulator.config.public())
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ConfigError("the body must be a JSON object of knob names to values")
            changed = emulator.config.update(changes)
        except (ConfigError, json.JSONDecodeError) as err:
            return JSONResponse({"message": str(err)}, status_code=400)
        if "seed" in changed:
            emulator.faults.reseed()
        if {"rate_limit_per_window", "rate_window_s"} & set(changed):
            emulator.faults.forget_window()
        return JSONResponse(emulator.config.public())

    async def stats(request: Request) -> Response:
        return JSONResponse(emulator.faults.stats())

    async def image_file(request: Request) -> Response:
        row = _image_for(emulator, request.path_params["name"], ".png")
        if row is None:
            return JSONResponse({"message": "File not found"}, status_code=404)
        return FileResponse(emulator.storage.file_path(row["sha256"]), media_type="image/png")

    async def thumbnail_file(request: Request) -> Response:
        row = _image_for(emulator, request.path_params["name"], ".jpg")
        if row is None:
            return JSONResponse({"message": "File not found"}, status_code=404)
        data = thumbnail(emulator.storage.file_path(row["sha256"]).read_bytes())
        return Response(data, media_type="image/jpeg")

    async def result_file(request: Request) -> Response:
        name = request.path_params["name"]
        path = emulator.storage.results_dir / name
        if "/" in name or name.startswith(".") or name.endswith(".ready") or not path.is_file():
            return JSONResponse({"message": "File not found"}, status_code=404)
        if emulator.account.clock() < emulator.storage.result_ready_at(name):
            return JSONResponse({"message": "File not found"}, status_code=404)
        media = "image/svg+xml" if name.endswith(".svg") else "image/png"
        return FileResponse(path, media_type=media)

    return [
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/state", state, methods=["GET"]),
        Route("/_emulator/config", config, methods=["GET", "PUT"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/files/images/{name}", image_file, methods=["GET"]),
        Route("/files/thumbnails/{name}", thumbnail_file, methods=["GET"]),
        Route("/files/results/{name}", result_file, methods=["GET"]),
    ]


def _image_for(emulator: Emulator, name: str, suffix: str) -> dict[str, Any] | None:
    stem = name.removesuffix(suffix)
    if stem == name or not stem.isdigit():
        return None
    return emulator.storage.get("images", int(stem))
