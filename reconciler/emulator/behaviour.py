"""The emulated account: projects, datasets and images, with every rule the reference states
that depends on stored state (404 unknown ids, 409 conflicts on completed datasets, the
200-image cap, 400 completing an empty dataset, 410 for a deleted dataset's captions).

Each public method is one API operation, runs in one storage transaction, and returns the
response body (or raises `ApiError`). Models and generation live in `training.py`.
Caption regeneration is asynchronous as on Bria: it is recorded with an end time and "settled"
(captions rewritten, status `completed`) by the first read after that time.

With `config.current` (the `current` API profile) the published OpenAPI's dataset rules apply
instead where they differ: `visual_schema` (set only on a draft) replaces `caption_prefix` and
drives JSON captions (none before a schema is set), completing needs a schema and 5 images,
and only `basic` datasets take image uploads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from reconciler.emulator import current_rules, rules
from reconciler.emulator.captions import automatic_caption, default_caption_prefix
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.current_shapes import (
    current_dataset_json,
    current_project_json,
    project_lock,
)
from reconciler.emulator.images import CheckedImage, check_upload, decode_base64
from reconciler.emulator.rules import ApiError
from reconciler.emulator.shapes import (
    TRAINING_STATUSES,
    dataset_json,
    dataset_with_images_json,
    image_json,
    model_status,
    project_json,
)
from reconciler.emulator.storage import Row, Storage
from reconciler.emulator.visual_schema import check_schema_text, structured_caption

MAX_IMAGES = 200
MIN_IMAGES_TO_COMPLETE = 1
CURRENT_MIN_IMAGES_TO_COMPLETE = 5  # the published OpenAPI's rule
ImageFetcher = Callable[[str], bytes]


class Account:
    """One Bria organisation's tailored-generation resources."""

    def __init__(
        self,
        storage: Storage,
        config: EmulatorConfig,
        *,
        fetch_url: ImageFetcher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.config = config
        self.fetch_url = fetch_url
        self.clock = clock

    # ------------------------------------------------------------------ lookups

    def project_row(self, project_id: int) -> Row:
        found = self.storage.get("projects", project_id)
        if found is None:
            raise ApiError(404, "Project not found")
        return found

    def dataset_row(self, dataset_id: int) -> Row:
        found = self.storage.get("datasets", dataset_id)
        if found is None:
            raise ApiError(404, "Dataset not found")
        return self._settle(found)

    def image_row(self, dataset_id: int, image_id: int) -> Row:
        found = self.storage.get("images", image_id)
        if found is None or found["dataset_id"] != dataset_id:
            raise ApiError(404, "Image not found")
        return found

    def images_of(self, dataset_id: int) -> list[Row]:
        return self.storage.select("images", "dataset_id = ?", (dataset_id,))

    def models_training_on(self, where: str, params: tuple[Any, ...]) -> list[Row]:
        now = self.clock()
        models = self.storage.select("models", f"deleted_at IS NULL AND {where}", params)
        return [model for model in models if model_status(model, now) in TRAINING_STATUSES]

    def _settle(self, dataset: Row) -> Row:
        """Finish a due caption regeneration (lazily, on first read after its end time)."""
        if dataset["captions_update_status"] != "in_progress":
            return dataset
        if self.clock() < dataset["regen_ends_at"]:
            return dataset
        with self.storage.transaction():
            for image in self.images_of(dataset["id"]):
                if image["caption_updated_at"] > dataset["regen_started_at"]:
                    continue  # edited after the regeneration was requested: keep it
                caption = self.caption_for(dataset["regen_prefix"], image["sha256"])
                self.storage.update(
                    "images",
                    image["id"],
                    {"caption": caption, "caption_source": "automatic" if caption else ""},
                )
            self.storage.update("datasets", dataset["id"], {"captions_update_status": "completed"})
        return {**dataset, "captions_update_status": "completed"}

    def caption_for(self, prefix_or_schema: str | None, image_sha256: str) -> str:
        """An automatic caption: the prefix continued (reference), or a JSON caption under the
        visual schema (current; "" = none, as before a schema is set)."""
        if not self.config.current:
            return automatic_caption(prefix_or_schema or "", image_sha256)
        return structured_caption(prefix_or_schema, image_sha256) if prefix_or_schema else ""

    def dataset_shape(self, dataset: Row) -> dict[str, Any]:
        return current_dataset_json(dataset) if self.config.current else dataset_json(dataset)

    def project_shape(self, project: Row) -> dict[str, Any]:
        if not self.config.current:
            return project_json(project)
        models = self.storage.select("models", "project_id = ?", (project["id"],))
        return current_project_json(project, project_lock(models))

    def settle_all(self) -> None:
        for dataset in self.storage.select("datasets", "captions_update_status = 'in_progress'"):
            self._settle(dataset)

    # ------------------------------------------------------------------ projects

    def create_project(self, body: Any) -> dict[str, Any]:
        fields = rules.check_project_create(body)
        now = self.clock()
        with self.storage.transaction():
            project_id = self.storage.insert(
                "projects", {**fields, "created_at": now, "updated_at": now}
            )
            return self.project_shape(self.project_row(project_id))

    def list_projects(self) -> list[dict[str, Any]]:
        with self.storage.transaction():
            return [self.project_shape(row) for row in self.storage.select("projects")]

    def get_project(self, project_id: int) -> dict[str, Any]:
        return self.project_shape(self.project_row(project_id))

    def update_project(self, project_id: int, body: Any) -> dict[str, Any]:
        rules.check_project_update(body, None)  # body rules (400) before the 404
        with self.storage.transaction():
            project = self.project_row(project_id)
            changes = rules.check_project_update(body, project["ip_type"])
            if changes:
                self.storage.update("projects", project_id, {**changes, "updated_at": self.clock()})
            return self.project_shape(self.project_row(project_id))

    def delete_project(self, project_id: int) -> None:
        with self.storage.transaction():
            self.project_row(project_id)
            if self.models_training_on("project_id = ?", (project_id,)):
                raise ApiError(409, "Cannot delete project while models are in training")
            for dataset in self.storage.select("datasets", "project_id = ?", (project_id,)):
                self._remove_dataset(dataset["id"])
            self.storage.delete("models", "project_id = ?", (project_id,))
            self.storage.delete("projects", "id = ?", (project_id,))

    # ------------------------------------------------------------------ datasets

    def create_dataset(self, body: Any) -> dict[str, Any]:
        upload_type = None
        if self.config.current:
            project_id, name, upload_type = current_rules.check_dataset_create(body)
        else:
            project_id, name = rules.check_dataset_create(body)
        with self.storage.transaction():
            project = self.project_row(project_id)
            prefix = "" if self.config.current else default_caption_prefix(
                project["ip_type"], project["ip_medium"], project["ip_name"],
                project["ip_description"],
            )  # fmt: skip
            now = self.clock()
            dataset_id = self.storage.insert(
                "datasets",
                {
                    "project_id": project_id,
                    "name": name,
                    "caption_prefix": prefix,
                    "upload_type": upload_type,
                    "status": "draft",
                    "captions_update_status": "empty",
                    "created_at": now,
                    "updated_at": now,
                },
            )
            return self.dataset_shape(self.dataset_row(dataset_id))

    def list_datasets(self) -> list[dict[str, Any]]:
        with self.storage.transaction():
            self.settle_all()
            return [
                self.dataset_with_images(row, self.images_of(row["id"]), embed_images=False)
                for row in self.storage.select("datasets")
            ]

    def list_project_datasets(
        self, project_id: int, *, include_models: bool, include_models_ids: bool
    ) -> list[dict[str, Any]]:
        from reconciler.emulator.training import model_json_of  # models live there

        with self.storage.transaction():
            self.project_row(project_id)
            self.settle_all()
            shaped = []
            for row in self.storage.select("datasets", "project_id = ?", (project_id,)):
                item = self.dataset_with_images(row, self.images_of(row["id"]), embed_images=False)
                models = self.storage.select("models", "dataset_id = ?", (row["id"],))
                if include_models:
                    item["models"] = [model_json_of(self, model) for model in models]
                if include_models_ids:
                    item["model_ids"] = [str(model["id"]) for model in models]
                shaped.append(item)
            return shaped

    def get_dataset(self, dataset_id: int, files_url: str) -> dict[str, Any]:
        with self.storage.transaction():
            dataset = self.dataset_row(dataset_id)
            images = [image_json(image, files_url) for image in self.images_of(dataset_id)]
            return self.dataset_with_images(dataset, images)

    def dataset_with_images(
        self, dataset: Row, images: list[Any], *, embed_images: bool = True
    ) -> dict[str, Any]:
        if not self.config.current:
            return dataset_with_images_json(dataset, images, embed_images=embed_images)
        shaped = current_dataset_json(dataset)
        created_at, updated_at = shaped.pop("created_at"), shaped.pop("updated_at")
        shaped["images_count"] = len(images)
        if embed_images:
            shaped["images"] = images
        shaped["created_at"], shaped["updated_at"] = created_at, updated_at
        return shaped

    def update_dataset(self, dataset_id: int, body: Any) -> dict[str, Any]:
        if self.config.current:
            return self._update_current_dataset(dataset_id, body)
        changes = rules.check_dataset_update(body)
        with self.storage.transaction():
            dataset = self.dataset_row(dataset_id)
            completed = dataset["status"] == "completed"
            if completed and "caption_prefix" in changes:
                raise ApiError(409, "Cannot update caption_prefix of a completed dataset")
            if completed and changes.get("status") == "draft":
                raise ApiError(
                    409, "Cannot change a completed dataset back to draft; clone it as a draft"
                )
            if changes.get("status") == "completed" and not completed:
                if not self.images_of(dataset_id):
                    raise ApiError(400, "Dataset must have at least 1 image to be completed")
                if dataset["captions_update_status"] == "in_progress":
                    raise ApiError(
                        409, "Cannot complete a dataset while its captions are being regenerated"
                    )
            if changes:
                self.storage.update("datasets", dataset_id, {**changes, "updated_at": self.clock()})
            return dataset_json(self.dataset_row(dataset_id))

    def _update_current_dataset(self, dataset_id: int, body: Any) -> dict[str, Any]:
        """Update Dataset as the published OpenAPI states it (409s for a completed dataset's
        schema and for completing without a schema or with fewer than 5 images)."""
        changes = current_rules.check_dataset_update(body)
        with self.storage.transaction():
            dataset = self.dataset_row(dataset_id)
            completed = dataset["status"] == "completed"
            if completed and "visual_schema" in changes:
                raise ApiError(409, "Cannot update visual_schema for a completed dataset")
            if completed and changes.get("status") == "draft":
                raise ApiError(
                    409, "Cannot change a completed dataset back to draft; clone it as a draft"
                )
            if changes.get("status") == "completed" and not completed:
                count = self.storage.count("images", "dataset_id = ?", (dataset_id,))
                if count < CURRENT_MIN_IMAGES_TO_COMPLETE:
                    raise ApiError(
                        409,
                        f"Insufficient images to complete: the dataset has {count}, at least "
                        f"{CURRENT_MIN_IMAGES_TO_COMPLETE} are required",
                    )
                if not (changes.get("visual_schema") or dataset["visual_schema"]):
                    raise ApiError(
                        409,
                        "Cannot complete a dataset without a visual_schema: generate one with "
                        "/generate_visual_schema and set it with PUT /datasets/{dataset_id}",
                    )
                if dataset["captions_update_status"] == "in_progress":
                    raise ApiError(
                        409, "Cannot complete a dataset while its captions are being regenerated"
                    )
            if changes:
                self.storage.update("datasets", dataset_id, {**changes, "updated_at": self.clock()})
            return current_dataset_json(self.dataset_row(dataset_id))

    def delete_dataset(self, dataset_id: int) -> None:
        with self.storage.transaction():
            self.dataset_row(dataset_id)
            if self.models_training_on("dataset_id = ?", (dataset_id,)):
                raise ApiError(
                    409, "Cannot delete a dataset that is used by a model that is in training"
                )
            self._remove_dataset(dataset_id)

    def _remove_dataset(self, dataset_id: int) -> None:
        digests = {image["sha256"] for image in self.images_of(dataset_id)}
        self.storage.delete("images", "dataset_id = ?", (dataset_id,))
        self.storage.delete("datasets", "id = ?", (dataset_id,))
        self.storage.insert("deleted_datasets", {"id": dataset_id, "deleted_at": self.clock()})
        self.storage.drop_unreferenced_files(digests)

    def clone_dataset(self, dataset_id: int, body: Any, files_url: str) -> dict[str, Any]:
        body = {} if body is None else rules.require_object(body)
        given_name = rules.optional_string(body, "name")  # body rules (400) before the 404
        given_description = rules.optional_string(body, "description")
        with self.storage.transaction():
            source = self.dataset_row(dataset_id)
            name = given_name or f"Copy of {source['name']}"
            description = given_description or source["description"]
            now = self.clock()
            clone_id = self.storage.insert(
                "datasets",
                {
                    "project_id": source["project_id"],
                    "name": name,
                    "description": description,
                    "caption_prefix": source["caption_prefix"],
                    "visual_schema": source["visual_schema"],
                    "upload_type": source["upload_type"],
                    "status": "draft",
                    "captions_update_status": "empty",
                    "created_at": now,
                    "updated_at": now,
                },
            )
            for image in self.images_of(dataset_id):
                copied = {k: v for k, v in image.items() if k != "id"}
                self.storage.insert(
                    "images",
                    {**copied, "dataset_id": clone_id, "created_at": now, "updated_at": now},
                )
            return self.get_dataset(clone_id, files_url)

    # ------------------------------------------------------------------ images

    def upload_image(self, dataset_id: int, body: Any, files_url: str) -> dict[str, Any]:
        body = rules.require_object(body)
        file_b64 = rules.optional_string(body, "file")  # body rules (400) before the 404/409
        image_url = rules.optional_string(body, "image_url")
        image_name = rules.optional_string(body, "image_name")
        if not file_b64 and not image_url:
            raise ApiError(400, "Either file or image_url must be provided")
        data = decode_base64(file_b64, "file") if file_b64 else None
        self._check_room_for_upload(self.dataset_row(dataset_id))
        if data is None:  # fetched only for a dataset that takes it (422 after 404/409)
            assert image_url is not None
            data = self.fetch_url(image_url)
        checked = check_upload(data)  # outside the lock: decoding is the slow part
        default_name = _name_from_url(image_url) if image_url and not file_b64 else None
        return self._store_upload(dataset_id, checked, image_name or default_name, files_url)

    def _check_room_for_upload(self, dataset: Row) -> None:
        if self.config.current and dataset["upload_type"] == "advanced":
            raise ApiError(
                400,
                "Upload Image Files can only be used by 'basic' upload type datasets; use "
                "images/bulk-upload for advanced datasets",
            )
        if dataset["status"] == "completed":
            raise ApiError(409, "Cannot upload images to a completed dataset")
        if self.storage.count("images", "dataset_id = ?", (dataset["id"],)) >= MAX_IMAGES:
            raise ApiError(409, f"Dataset cannot exceed {MAX_IMAGES} images")

    def _store_upload(
        self, dataset_id: int, checked: CheckedImage, image_name: str | None, files_url: str
    ) -> dict[str, Any]:
        with self.storage.transaction():
            dataset = self.dataset_row(dataset_id)  # again: it may have changed meanwhile
            self._check_room_for_upload(dataset)
            self.storage.save_file(checked.sha256, checked.png)
            caption = self.caption_for(self._caption_basis(dataset), checked.sha256)
            image_id = self.storage.next_id()
            now = self.clock()
            self.storage.insert(
                "images",
                {
                    "id": image_id,
                    "dataset_id": dataset_id,
                    "image_name": image_name or f"image_{image_id}.png",
                    "sha256": checked.sha256,
                    "width": checked.width,
                    "height": checked.height,
                    "caption": caption,
                    "caption_source": "automatic" if caption else "",
                    "caption_updated_at": now,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            self.storage.update("datasets", dataset_id, {"updated_at": now})
            return image_json(self.image_row(dataset_id, image_id), files_url)

    def _caption_basis(self, dataset: Row) -> str | None:
        basis = dataset["visual_schema"] if self.config.current else dataset["caption_prefix"]
        return None if basis is None else str(basis)

    def list_images(self, dataset_id: int, files_url: str) -> list[dict[str, Any]]:
        with self.storage.transaction():
            self.dataset_row(dataset_id)
            return [image_json(image, files_url) for image in self.images_of(dataset_id)]

    def regenerate_captions(self, dataset_id: int) -> dict[str, Any]:
        with self.storage.transaction():
            dataset = self.dataset_row(dataset_id)
            if dataset["status"] == "completed":
                raise ApiError(409, "Cannot regenerate captions in a completed dataset")
            now = self.clock()
            self.storage.update(
                "datasets",
                dataset_id,
                {
                    "captions_update_status": "in_progress",
                    "regen_started_at": now,
                    "regen_ends_at": now + self.config.captions_seconds,
                    "regen_prefix": self._caption_basis(dataset),
                    "updated_at": now,
                },
            )
            return self.dataset_shape(self.dataset_row(dataset_id))

    def get_image(self, dataset_id: int, image_id: int, files_url: str) -> dict[str, Any]:
        with self.storage.transaction():
            self.dataset_row(dataset_id)
            return image_json(self.image_row(dataset_id, image_id), files_url)

    def update_caption(
        self, dataset_id: int, image_id: int, body: Any, files_url: str
    ) -> dict[str, Any]:
        caption = rules.check_caption_update(body)
        if caption is not None and self.config.current:
            check_schema_text(caption, "caption")
        with self.storage.transaction():
            if self.storage.get("deleted_datasets", dataset_id) is not None:
                raise ApiError(410, "Dataset deleted")
            dataset = self.dataset_row(dataset_id)
            image = self.image_row(dataset_id, image_id)
            if dataset["status"] == "completed":
                raise ApiError(409, "Cannot update caption in a completed dataset")
            now = self.clock()
            if caption is None:
                caption = self.caption_for(self._caption_basis(dataset), image["sha256"])
                source = "automatic" if caption else ""
            else:
                source = "manual"
            self.storage.update(
                "images",
                image_id,
                {
                    "caption": caption,
                    "caption_source": source,
                    "caption_updated_at": now,
                    "updated_at": now,
                },
            )
            return image_json(self.image_row(dataset_id, image_id), files_url)

    def delete_image(self, dataset_id: int, image_id: int) -> None:
        with self.storage.transaction():
            dataset = self.dataset_row(dataset_id)
            image = self.image_row(dataset_id, image_id)
            if dataset["status"] == "completed":
                raise ApiError(409, "Cannot delete an image from a completed dataset")
            self.storage.delete("images", "id = ?", (image_id,))
            self.storage.update("datasets", dataset_id, {"updated_at": self.clock()})
            self.storage.drop_unreferenced_files({image["sha256"]})


def _name_from_url(url: str) -> str | None:
    tail = urlparse(url).path.rsplit("/", 1)[-1]
    return tail or None
