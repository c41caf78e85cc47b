"""Models and generation: create, train, stop, delete, and the tailored generation routes.

Training is a lazy state machine over stored timestamps (see `shapes.model_status`):
start records `training_ends_at = now + training_seconds`; stop records `stop_ends_at`. A model
whose name contains `fail-training` ends `Failed` instead of `Completed` (the test knob for
failed trainings). Deleting a model keeps a tombstone: `GET /models/{id}` answers status
`Deleted`, lists omit it, and every other route answers 404.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from reconciler.emulator import rules
from reconciler.emulator.behaviour import Account
from reconciler.emulator.generation import check_generation
from reconciler.emulator.images import result_png, result_svg
from reconciler.emulator.rules import ApiError
from reconciler.emulator.shapes import TRAINING_STATUSES, model_json, model_status
from reconciler.emulator.storage import Row

FAIL_TRAINING_MARKER = "fail-training"


def model_json_of(account: Account, model: Row, status: str | None = None) -> dict[str, Any]:
    dataset = account.storage.get("datasets", model["dataset_id"])
    prefix = dataset["caption_prefix"] if dataset else model["generation_prefix"]
    if status is None:
        status = model_status(model, account.clock())
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

    def list_all(self) -> list[dict[str, Any]]:
        with self.storage.transaction():
            rows = self.storage.select("models", "deleted_at IS NULL")
            return [model_json_of(self.account, row) for row in rows]

    def list_for_project(self, project_id: int) -> list[dict[str, Any]]:
        with self.storage.transaction():
            self.account.project_row(project_id)
            rows = self.storage.select(
                "models", "project_id = ? AND deleted_at IS NULL", (project_id,)
            )
            return [model_json_of(self.account, row) for row in rows]

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
            return model_json_of(self.account, self.model_row(model_id))

    def delete(self, model_id: int) -> None:
        with self.storage.transaction():
            model = self.model_row(model_id)
            if self.status(model) in TRAINING_STATUSES:
                raise ApiError(409, "Cannot delete model while it is in training")
            now = self.account.clock()
            self.storage.update("models", model_id, {"deleted_at": now, "updated_at": now})

    def start_training(self, model_id: int) -> dict[str, Any]:
        with self.storage.transaction():
            model = self.model_row(model_id)
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
                },
            )
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

    # ------------------------------------------------------------------ generation

    def generate(self, route: str, model_id: int, body: Any, files_url: str) -> dict[str, Any]:
        with self.storage.transaction():
            model = self.model_row(model_id)
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
