"""The current generation's image generation: `POST /v2/image/generate/tailored` and the status
service `GET /v2/status/{request_id}` (served only by the `current` profile).

The published OpenAPI answers 200 with `image_url` and `structured_prompt` when `sync` is true,
else 202 with `request_id` and `status_url`; the status service then answers `IN_PROGRESS`
until the result is ready (`generation_seconds` after the request) and `COMPLETED` with the
result. The image is drawn at once and stored; only its visibility waits. A model of the
reference generation (light | max) is refused: it generates through the v1 routes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from reconciler.emulator.behaviour import Account
from reconciler.emulator.current_rules import check_generation_v2
from reconciler.emulator.images import result_png
from reconciler.emulator.rules import ApiError
from reconciler.emulator.shapes import model_status
from reconciler.emulator.storage import Row

FORBIDDEN_MODEL = "Forbidden: the model does not belong to your organization"


class GenerationV2:
    """The v2 generation and status routes over one Account."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.storage = account.storage

    def _model(self, model_ref: str) -> Row:
        found = (
            self.storage.get("models", int(model_ref))
            if model_ref.isascii() and model_ref.isdigit() and len(model_ref) <= 18
            else None
        )
        if found is None or found["deleted_at"] is not None:
            raise ApiError(403, FORBIDDEN_MODEL)
        return found

    def generate(self, body: Any, api_root: str, files_url: str) -> tuple[int, dict[str, Any]]:
        request = check_generation_v2(body)
        with self.storage.transaction():
            model = self._model(request.model_ref)
            status = model_status(model, self.account.clock())
            dataset = self.storage.get("datasets", model["dataset_id"])
        if not model["training_mode"]:
            raise ApiError(
                400,
                f"Model {model['id']} was trained with training_version "
                f"'{model['training_version']}': use the v1 tailored generation routes",
            )
        if status != "Completed":
            raise ApiError(
                400, f"Model {model['id']} is not ready for generation: its status is {status}"
            )
        seed = request.seed if request.seed is not None else _seed_for(request)
        structured = request.structured_prompt or json.dumps(
            {
                "prompt": request.prompt,
                "visual_schema": json.loads(dataset["visual_schema"])
                if dataset and dataset["visual_schema"]
                else None,
            },
            sort_keys=True,
        )
        if request.structured_prompt and request.prompt:
            structured = json.dumps(
                {"refined_from": json.loads(request.structured_prompt), "prompt": request.prompt},
                sort_keys=True,
            )
        request_id = uuid.uuid4().hex
        name = f"{request_id}.png"
        self.storage.save_result(name, result_png(seed, request.aspect_ratio))
        image_url = f"{files_url}/results/{name}"
        if request.sync:
            return 200, {"image_url": image_url, "structured_prompt": structured, "seed": seed}
        self.storage.insert_row(
            "generation_requests",
            {
                "id": request_id,
                "model_id": model["id"],
                "image_url": image_url,
                "structured_prompt": structured,
                "seed": seed,
                "ready_at": self.account.clock() + self.account.config.generation_seconds,
            },
        )
        return 202, {"request_id": request_id, "status_url": f"{api_root}/v2/status/{request_id}"}

    def status(self, request_id: str) -> dict[str, Any]:
        found = self.storage.get("generation_requests", request_id)
        if found is None:
            raise ApiError(404, "Request not found")
        if self.account.clock() < found["ready_at"]:
            return {"request_id": request_id, "status": "IN_PROGRESS"}
        return {
            "request_id": request_id,
            "status": "COMPLETED",
            "result": {
                "image_url": found["image_url"],
                "structured_prompt": found["structured_prompt"],
                "seed": found["seed"],
            },
        }


def _seed_for(request: Any) -> int:
    text = f"{request.prompt}\0{request.structured_prompt}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
