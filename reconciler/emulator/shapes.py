"""Stored rows -> the JSON objects Bria answers with, field for field as the reference's
response samples show them, plus the model status machine computed from stored timestamps.

Statuses are computed lazily from timestamps (`training_ends_at`, `stop_ends_at`) so training
advances without a background thread and survives a restart of the emulator.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from reconciler.emulator.storage import Row

TRAINING_STATUSES = ("InProgress", "Stopping")


@lru_cache(maxsize=16384)
def timestamp(epoch: float) -> str:
    """`2024-05-26T12:00:00Z`, as in the reference's samples. Cached: every list answer
    formats the same stored times again (two per image, 400 for a full dataset)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def model_status(model: Row, now: float) -> str:
    """Created -> InProgress -> Completed | Failed; InProgress -> Stopping -> Stopped."""
    if model["deleted_at"] is not None:
        return "Deleted"
    if model["stop_requested_at"] is not None:
        return "Stopping" if now < model["stop_ends_at"] else "Stopped"
    if model["started_at"] is not None:
        if now < model["training_ends_at"]:
            return "InProgress"
        return "Failed" if model["will_fail"] else "Completed"
    return "Created"


def project_json(project: Row) -> dict[str, Any]:
    return {
        "id": project["id"],
        "project_name": project["project_name"],
        "project_description": project["project_description"],
        "ip_name": project["ip_name"],
        "ip_description": project["ip_description"],
        "ip_medium": project["ip_medium"],
        "ip_type": project["ip_type"],
        "status": "active",
        "created_at": timestamp(project["created_at"]),
    }


def dataset_json(dataset: Row) -> dict[str, Any]:
    return {
        "id": dataset["id"],
        "project_id": dataset["project_id"],
        "name": dataset["name"],
        "caption_prefix": dataset["caption_prefix"],
        "status": dataset["status"],
        "captions_update_status": dataset["captions_update_status"],
        "created_at": timestamp(dataset["created_at"]),
        "updated_at": timestamp(dataset["updated_at"]),
    }


def dataset_with_images_json(
    dataset: Row, images: list[dict[str, Any]], *, embed_images: bool = True
) -> dict[str, Any]:
    shaped = dataset_json(dataset)
    created_at, updated_at = shaped.pop("created_at"), shaped.pop("updated_at")
    shaped["images_count"] = len(images)
    if embed_images:
        shaped["images"] = images
    shaped["created_at"], shaped["updated_at"] = created_at, updated_at
    return shaped


def image_json(image: Row, files_url: str) -> dict[str, Any]:
    return {
        "id": image["id"],
        "dataset_id": image["dataset_id"],
        # "" is stored for "no caption yet" (current profile, uploaded before a visual schema)
        "caption": image["caption"] or None,
        "caption_source": image["caption_source"] or None,
        "image_name": image["image_name"],
        "image_url": f"{files_url}/images/{image['id']}.png",
        "thumbnail_url": f"{files_url}/thumbnails/{image['id']}.jpg",
        "created_at": timestamp(image["created_at"]),
        "updated_at": timestamp(image["updated_at"]),
    }


def model_json(model: Row, status: str, generation_prefix: str) -> dict[str, Any]:
    generation = (
        {"training_mode": model["training_mode"]}  # made by the current profile on this data dir
        if model.get("training_mode")
        else {"training_version": model["training_version"]}
    )
    return {
        "id": model["id"],
        "name": model["name"],
        "description": model["description"],
        "status": status,
        **generation,
        "generation_prefix": generation_prefix,
        "project_id": model["project_id"],
        "dataset_id": model["dataset_id"],
        "created_at": timestamp(model["created_at"]),
        # the reference's create answer has no updated_at; its reads of a trained model do
        **(
            {}
            if status.lower() == "created"
            else {"updated_at": timestamp(_updated_at(model, status))}
        ),
    }


def _updated_at(model: Row, status: str) -> float:
    """The last change: a finished training's end (status is computed, not stored)."""
    if status in ("Completed", "Failed") and model.get("training_ends_at") is not None:
        return float(model["training_ends_at"])
    return float(model.get("updated_at") or model["created_at"])
