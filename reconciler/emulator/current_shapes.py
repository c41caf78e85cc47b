"""Stored rows -> the JSON objects of Bria's current API generation (the published OpenAPI).

The `current` profile answers with these instead of `shapes.py`'s reference shapes: projects
carry their `training_version` lock, datasets `visual_schema` and `upload_type` (no
`caption_prefix`), models `training_mode`, `active_model_version`, `training_parameters` and
`checkpoint_steps` (no `training_version`). A model made under the reference profile on the
same data dir keeps its reference shape, so one account can hold models of both generations.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.emulator.current_rules import checkpoint_steps
from reconciler.emulator.shapes import model_json, project_json, timestamp
from reconciler.emulator.storage import Row


def project_lock(models: list[Row]) -> str | None:
    """The training version family a project is locked to by its (undeleted) models: "fibo"
    for current-generation models, "max" for reference max models, else None."""
    live = [model for model in models if model["deleted_at"] is None]
    if any(model["training_mode"] for model in live):
        return "fibo"
    if any(model["training_version"] == "max" for model in live):
        return "max"
    return None


def current_project_json(project: Row, lock: str | None) -> dict[str, Any]:
    shaped = project_json(project)
    created_at = shaped.pop("created_at")
    shaped["training_version"] = lock
    shaped["status"] = shaped.pop("status")
    shaped["created_at"] = created_at
    shaped["updated_at"] = timestamp(project["updated_at"])  # Get Projects lists it
    return shaped


def current_dataset_json(dataset: Row) -> dict[str, Any]:
    return {
        "id": dataset["id"],
        "project_id": dataset["project_id"],
        "name": dataset["name"],
        "visual_schema": dataset["visual_schema"],
        "status": dataset["status"],
        "captions_update_status": dataset["captions_update_status"],
        "upload_type": dataset["upload_type"] or "basic",
        "created_at": timestamp(dataset["created_at"]),
        "updated_at": timestamp(dataset["updated_at"]),
    }


def is_current_model(model: Row) -> bool:
    return bool(model["training_mode"])


def stored_parameters(model: Row) -> dict[str, Any]:
    raw = model["training_parameters"]
    parsed = json.loads(raw) if raw else {}
    return parsed if isinstance(parsed, dict) else {}


def deleted_checkpoints(model: Row) -> list[int]:
    raw = model["deleted_checkpoints"]
    parsed = json.loads(raw) if raw else []
    return [int(step) for step in parsed] if isinstance(parsed, list) else []


def saved_checkpoints(model: Row, status: str) -> list[int]:
    """An expert model's checkpoints once its training completed, minus the deleted ones."""
    parameters = stored_parameters(model)
    if status != "Completed" or model["training_mode"] != "expert" or not parameters:
        return []
    deleted = set(deleted_checkpoints(model))
    return [step for step in checkpoint_steps(parameters) if step not in deleted]


def active_model_version(model: Row, status: str) -> str:
    """The checkpoint used for inference: the last step of a completed expert training,
    "default" otherwise (as the published samples show)."""
    parameters = stored_parameters(model)
    if status == "Completed" and model["training_mode"] == "expert" and parameters:
        return str(parameters["total_training_steps"])
    return "default"


def current_model_json(
    model: Row, status: str, generation_prefix: str, *, with_training: bool = True
) -> dict[str, Any]:
    """`with_training`: include training_parameters and checkpoint_steps (lists leave them out
    unless asked with include_training_parameters=true)."""
    if not is_current_model(model):
        return model_json(model, status, generation_prefix)
    shaped: dict[str, Any] = {
        "id": model["id"],
        "name": model["name"],
        "description": model["description"],
        "status": status,
        "training_mode": model["training_mode"],
        "project_id": model["project_id"],
        "dataset_id": model["dataset_id"],
        "created_at": timestamp(model["created_at"]),
        "updated_at": timestamp(model["updated_at"]),
        "custom_metadata": "",  # in Create Model's and Start Training's published answers
        "active_model_version": active_model_version(model, status),
    }
    if with_training:
        shaped["training_parameters"] = stored_parameters(model)
        steps = sorted(saved_checkpoints(model, status), reverse=True)
        shaped["checkpoint_steps"] = [str(step) for step in steps]
    return shaped


def updated_model_json(model: Row, status: str) -> dict[str, Any]:
    """Update Model's published answer: neither training_version nor training_mode."""
    return {
        "id": model["id"],
        "name": model["name"],
        "description": model["description"],
        "status": status,
        "project_id": model["project_id"],
        "dataset_id": model["dataset_id"],
        "created_at": timestamp(model["created_at"]),
    }
