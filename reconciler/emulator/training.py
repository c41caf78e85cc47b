"""Models and generation: create, train, stop, delete, and the tailored generation routes.

Training is a lazy state machine over stored timestamps (see `shapes.model_status`):
start records `training_ends_at = now + training_seconds`; stop records `stop_ends_at`. A model
whose name contains `fail-training` ends `Failed` instead of `Completed` (the test knob for
failed trainings). Deleting a model keeps it with status `Deleted` ("Changes status to
Deleted"): `GET /models/{id}` and every list show it so, and every other route answers 404.

With `config.current` (the `current` API profile) models follow the published OpenAPI: created
with a `training_mode`, trained with expert parameters (validated, defaults filled in), saving
checkpoints that `/models/{id}/checkpoints` lists and deletes; v1 generation refuses them
(they generate through `/v2`, see `generation_v2.py`).
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from reconciler.emulator import current_rules, rules
from reconciler.emulator.behaviour import Account
from reconciler.emulator.current_shapes import (
    active_model_version,
    current_model_json,
    deleted_checkpoints,
    is_current_model,
    saved_checkpoints,
    updated_model_json,
)
from reconciler.emulator.generation import check_generation
from reconciler.emulator.images import result_png, result_svg
from reconciler.emulator.rules import ApiError
from reconciler.emulator.shapes import TRAINING_STATUSES, model_json, model_status, timestamp
from reconciler.emulator.storage import Row

FAIL_TRAINING_MARKER = "fail-training"


def model_json_of(
    account: Account, model: Row, status: str | None = None, *, with_training: bool = True
) -> dict[str, Any]:
    """`with_training`: current profile only, see `current_model_json`."""
    dataset = account.storage.get("datasets", model["dataset_id"])
    prefix = dataset["caption_prefix"] if dataset else model["generation_prefix"]
    if status is None:
        status = model_status(model, account.clock())
    if account.config.current:
        return current_model_json(model, status, prefix, with_training=with_training)
    return model_json(model, status, prefix)


class Models:
    """The `/tailored-gen/models` routes and the generation routes over one Account."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.storage = account.storage

    def model_row(self, model_id: int, *, allow_deleted: bool = False) -> Row:
        found = self.storage.get("models", model_id)
        if found is None or (found["deleted_at"] is not None and not allow_deleted):
            raise ApiError(404, "Model not found")
        return found

    def status(self, model: Row) -> str:
        return model_status(model, self.account.clock())

    def create(self, body: Any) -> dict[str, Any]:
        if self.account.config.current:
            return self._create_current(body)
        fields = rules.check_model_create(body)
        with self.storage.transaction():
            dataset = self.account.dataset_row(fields["dataset_id"])
            project = self.account.project_row(dataset["project_id"])
            if fields["training_version"] == "max" and project["ip_medium"] == "photography":
                raise ApiError(
                    400, "Training version 'max' is not available when ip_medium=photography"
                )
            now = self.account.clock()
            model_id = self.storage.insert(
                "models",
                {
                    **fields,
                    "project_id": dataset["project_id"],
                    "generation_prefix": dataset["caption_prefix"],
                    "will_fail": int(FAIL_TRAINING_MARKER in fields["name"].lower()),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            # Create Model answers lower-case "created"; Get Model answers "Created".
            return model_json_of(self.account, self.model_row(model_id), "created")

    def _create_current(self, body: Any) -> dict[str, Any]:
        fields = current_rules.check_model_create(body)
        with self.storage.transaction():
            dataset = self.account.dataset_row(fields["dataset_id"])
            now = self.account.clock()
            model_id = self.storage.insert(
                "models",
                {
                    **fields,
                    "training_version": "",  # the column predates training_mode
                    "project_id": dataset["project_id"],
                    "generation_prefix": "",
                    "will_fail": int(FAIL_TRAINING_MARKER in fields["name"].lower()),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            return model_json_of(self.account, self.model_row(model_id))

    def list_all(self, *, with_training: bool = False) -> list[dict[str, Any]]:
        with self.storage.transaction():
            rows = self.storage.select("models")  # deleted ones too, status Deleted
            return [model_json_of(self.account, r, with_training=with_training) for r in rows]

    def list_for_project(
        self, project_id: int, *, with_training: bool = False
    ) -> list[dict[str, Any]]:
        with self.storage.transaction():
            self.account.project_row(project_id)
            rows = self.storage.select("models", "project_id = ?", (project_id,))
            return [model_json_of(self.account, r, with_training=with_training) for r in rows]

    def get(self, model_id: int) -> dict[str, Any]:
        with self.storage.transaction():
            return model_json_of(self.account, self.model_row(model_id, allow_deleted=True))

    def update(self, model_id: int, body: Any) -> dict[str, Any]:
        changes = rules.check_model_update(body)
        with self.storage.transaction():
            self.model_row(model_id)
            if changes:
                self.storage.update(
                    "models", model_id, {**changes, "updated_at": self.account.clock()}
                )
            if self.account.config.current:
                model = self.model_row(model_id)
                return updated_model_json(model, self.status(model))
            return model_json_of(self.account, self.model_row(model_id))

    def delete(self, model_id: int) -> None:
        with self.storage.transaction():
            model = self.model_row(model_id)
            if self.status(model) in TRAINING_STATUSES:
                raise ApiError(409, "Cannot delete model while it is in training")
            now = self.account.clock()
            self.storage.update("models", model_id, {"deleted_at": now, "updated_at": now})

    def start_training(self, model_id: int, body: Any = None) -> dict[str, Any]:
        current = self.account.config.current
        with self.storage.transaction():
            model = self.model_row(model_id)
            parameters = None
            if current and is_current_model(model):
                parameters = current_rules.check_training_parameters(body, model["training_mode"])
            if self.status(model) != "Created":
                raise ApiError(409, "Training already started/cannot be resumed")
            dataset = self.storage.get("datasets", model["dataset_id"])
            if dataset is None or self.account.dataset_row(dataset["id"])["status"] != "completed":
                raise ApiError(412, "Dataset status must be 'completed' to start training")
            now = self.account.clock()
            self.storage.update(
                "models",
                model_id,
                {
                    "started_at": now,
                    "training_ends_at": now + self.account.config.training_seconds,
                    "generation_prefix": dataset["caption_prefix"],
                    "updated_at": now,
                    **(
                        {}
                        if parameters is None
                        else {"training_parameters": json.dumps(parameters)}
                    ),
                },
            )
            if current:  # the published answer is the whole model
                return model_json_of(self.account, self.model_row(model_id))
            return {"id": model_id, "status": self.status(self.model_row(model_id))}

    def stop_training(self, model_id: int) -> dict[str, Any]:
        with self.storage.transaction():
            model = self.model_row(model_id)
            if self.status(model) != "InProgress":
                raise ApiError(409, "Training already stopped/not in training")
            now = self.account.clock()
            self.storage.update(
                "models",
                model_id,
                {
                    "stop_requested_at": now,
                    "stop_ends_at": now + self.account.config.stopping_seconds,
                    "updated_at": now,
                },
            )
            return {"id": model_id, "status": self.status(self.model_row(model_id))}

    # ------------------------------------------------------------------ checkpoints

    def _expert_completed(self, model_id: int) -> tuple[Row, str]:
        model = self.model_row(model_id)
        if model["training_mode"] != "expert":
            raise ApiError(400, "Checkpoints are only available for models trained in expert mode")
        status = self.status(model)
        if status != "Completed":
            raise ApiError(400, "The model status is not completed")
        return model, status

    def list_checkpoints(self, model_id: int) -> dict[str, Any]:
        with self.storage.transaction():
            model, status = self._expert_completed(model_id)
            return {
                "checkpoints": [
                    _checkpoint_json(model, step) for step in saved_checkpoints(model, status)
                ],
                "active_model_version": active_model_version(model, status),
            }

    def get_checkpoint(self, model_id: int, step: int) -> dict[str, Any]:
        with self.storage.transaction():
            model, status = self._expert_completed(model_id)
            if step not in saved_checkpoints(model, status):
                raise ApiError(404, "Checkpoint not found")
            return _checkpoint_json(model, step)

    def delete_checkpoint(self, model_id: int, step: int) -> None:
        with self.storage.transaction():
            model, status = self._expert_completed(model_id)
            if step not in saved_checkpoints(model, status):
                raise ApiError(404, "Checkpoint not found")
            if str(step) == active_model_version(model, status):
                raise ApiError(400, "Cannot delete checkpoint currently selected for inference")
            deleted = sorted({*deleted_checkpoints(model), step})
            self.storage.update("models", model_id, {"deleted_checkpoints": json.dumps(deleted)})

    # ------------------------------------------------------------------ generation

    def generate(self, route: str, model_id: int, body: Any, files_url: str) -> dict[str, Any]:
        with self.storage.transaction():
            model = self.model_row(model_id)
            if is_current_model(model):
                raise ApiError(
                    400,
                    f"Model {model_id} was trained with training_mode "
                    f"'{model['training_mode']}': generate with POST /v2/image/generate/tailored",
                )
            status = self.status(model)
            project = self.storage.get("projects", model["project_id"])
            ip_medium = project["ip_medium"] if project else "illustration"
        request = check_generation(
            route, body, training_version=model["training_version"], ip_medium=ip_medium
        )
        if status != "Completed":
            raise ApiError(
                400, f"Model {model_id} is not ready for generation: its status is {status}"
            )
        # Results of one request carry distinct seeds: a given seed is the first result's (so
        # it recreates that result), the others follow it; without one, each is random.
        count = request.num_results
        if request.seed is not None:
            seeds = [(request.seed + index) % 2**32 for index in range(count)]
        else:
            seeds = secrets.SystemRandom().sample(range(2**31), count)
        delay = 0.0 if request.sync else self.account.config.generation_seconds
        results = []
        for seed in seeds:
            result_id = str(uuid.uuid4())
            if route == "text-to-vector":
                name, data = f"{result_id}.svg", result_svg(seed, request.aspect_ratio)
            else:
                name, data = f"{result_id}.png", result_png(seed, request.aspect_ratio)
            self.storage.save_result(name, data, ready_at=self.account.clock() + delay)
            results.append(
                {"urls": [f"{files_url}/results/{name}"], "seed": seed, "uuid": result_id}
            )
        return {"result": results}


def _parameters_column(parameters: dict[str, Any] | None) -> dict[str, Any]:
    return {} if parameters is None else {"training_parameters": json.dumps(parameters)}


def _checkpoint_json(model: Row, step: int) -> dict[str, Any]:
    return {
        "checkpoint_step": step,
        "training_job_id": model["id"],
        "created_at": timestamp(model["training_ends_at"] or model["created_at"]),
    }
