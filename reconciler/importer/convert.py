"""Pure: what Bria holds (client records) -> the manifests `reconciler import` writes, and what
it leaves out, with why.

The bar is that `reconciler plan` right after an import shows no change. So every manifest holds
exactly what the planner would otherwise "repair", and nothing the planner would act on:

* only fields the user owns, under their remote names; no ids, no API defaults (a caption
  prefix equal to Bria's default is left out, an absent prefix keeps Bria's);
* the current (highest) version of each dataset and model (`reconciler.naming`); older
  versions are listed, not written (a manifest cannot declare them);
* datasets carry `metadata.adopt: true`: their images' remote names carry no digest, so they are
  matched by file name, and the lock records the downloaded files' digests;
* `manual` captions become sidecar `<stem>.txt` files (or `spec.captions` where two images share
  a stem); automatic ones are left to Bria;
* a model is written only when the plan would keep it as it is: Completed (then protected, since
  retraining costs hours) or InProgress on the dataset's current version. A Created, Failed,
  Stopped or Stopping model, or one on an older dataset version, would be (re)trained by a
  manifest, so it is listed instead.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reconciler.bria_defaults import default_caption_prefix
from reconciler.client.records import (
    DatasetRecord,
    ImageRecord,
    ModelRecord,
    ProjectRecord,
    unnamed_image,
)
from reconciler.manifest.diagnostics import control_character
from reconciler.manifest.documents import API_VERSION, name_problem
from reconciler.manifest.images import MAX_SIDECAR_BYTES
from reconciler.naming import image_name_problem, parse_image_remote_name, parse_versioned_name
from reconciler.state import MAX_IMAGES

KEPT_MODEL_STATUSES = ("Completed", "InProgress")
_WHY_NOT_MODEL = {
    "Created": "it was created but never started: a manifest would start its training "
    "(1-3 hours); start it in the console, or declare it yourself",
    "Failed": "its training failed: a manifest would train it again from scratch",
    "Stopped": "its training was stopped: a manifest would train it again from scratch",
    "Stopping": "its training is stopping: once Stopped, a manifest would train it again",
}
_Record = TypeVar("_Record", DatasetRecord, ModelRecord)


@dataclass(frozen=True)
class Skipped:
    """Something in Bria that `import` does not write, and why (in plain words)."""

    address: str  # dataset.lora/chars~1, model.lora/old, project.My Project
    reason: str


@dataclass(frozen=True)
class ImageDownload:
    file_name: str  # the local file name, which is the remote image name
    remote_name: str
    url: str


@dataclass(frozen=True)
class DatasetExport:
    name: str  # the manifest name (the remote name's base)
    remote_name: str  # the current version's remote name (`chars~2`)
    manifest: dict[str, Any]
    images: tuple[ImageDownload, ...]
    sidecars: Mapping[str, str]  # `<stem>.txt` -> caption


@dataclass(frozen=True)
class ModelExport:
    name: str
    remote_name: str
    status: str
    manifest: dict[str, Any]


@dataclass(frozen=True)
class ProjectExport:
    name: str
    manifest: dict[str, Any]
    datasets: tuple[DatasetExport, ...] = ()
    models: tuple[ModelExport, ...] = ()
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class ProjectListing:
    """A project as read from Bria: its datasets (with their models) and, for the current
    version of each dataset that can be imported, its images."""

    record: ProjectRecord
    datasets: tuple[tuple[DatasetRecord, tuple[ModelRecord, ...]], ...]
    images: Mapping[int, Sequence[ImageRecord]] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetChoice:
    """Which datasets of a project are imported (current versions with manifest names)."""

    current: Mapping[str, DatasetRecord]  # base name -> current version
    skipped: tuple[Skipped, ...]


def project_problem(record: ProjectRecord, same_name: int) -> str | None:
    """Why a project cannot be imported, or None."""
    problem = name_problem(record.project_name)
    if problem is not None:
        return f"its name cannot be a manifest name: {problem}; rename it in the console"
    if same_name > 1:
        return (
            f"{same_name} projects in Bria are named '{record.project_name}', so a manifest "
            "could not say which one it means; rename the extra ones in the console"
        )
    return None


def choose_datasets(project: str, datasets: Iterable[DatasetRecord]) -> DatasetChoice:
    """The current version of each dataset whose name follows the naming scheme."""
    current, skipped = _current_versions(project, "dataset", list(datasets))
    for base, record in list(current.items()):
        if record.captions_update_status == "in_progress":
            skipped.append(
                Skipped(
                    f"dataset.{project}/{record.name}",
                    "its captions are being regenerated; import it again once that is done",
                )
            )
            del current[base]
    return DatasetChoice(current, tuple(skipped))


def convert_project(listing: ProjectListing) -> ProjectExport:
    record = listing.record
    name = record.project_name
    choice = choose_datasets(name, (d for d, _ in listing.datasets))
    skipped = list(choice.skipped)
    datasets: list[DatasetExport] = []
    for base, dataset in sorted(choice.current.items()):
        images = listing.images.get(dataset.id, ())
        exported = convert_dataset(record, base, dataset, images)
        if isinstance(exported, Skipped):
            skipped.append(exported)
        else:
            datasets.append(exported)
    imported = {d.remote_name: d.name for d in datasets}
    by_id = {d.id: d for d, _ in listing.datasets}
    models = [m for _, ms in listing.datasets for m in ms if m.status != "Deleted"]
    current_models, model_skips = _current_versions(name, "model", models)
    skipped += model_skips
    exported_models: list[ModelExport] = []
    for base, model in sorted(current_models.items()):
        on = by_id.get(model.dataset_id) if model.dataset_id is not None else None
        result = convert_model(record, base, model, on, imported)
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            exported_models.append(result)
    return ProjectExport(
        name=name,
        manifest=project_manifest(record),
        datasets=tuple(datasets),
        models=tuple(exported_models),
        skipped=tuple(sorted(skipped, key=lambda s: s.address)),
    )


def project_manifest(record: ProjectRecord) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if record.project_description:
        spec["description"] = record.project_description
    spec["ip_type"] = record.ip_type
    spec["ip_medium"] = record.ip_medium
    if record.ip_name and record.ip_name.strip():
        spec["ip_name"] = record.ip_name
    if record.ip_description and record.ip_description.strip():
        spec["ip_description"] = record.ip_description
    return {
        "apiVersion": API_VERSION,
        "kind": "Project",
        "metadata": {"name": record.project_name},
        "spec": spec,
    }


def convert_dataset(
    project: ProjectRecord, base: str, dataset: DatasetRecord, images: Sequence[ImageRecord]
) -> DatasetExport | Skipped:
    address = f"dataset.{project.project_name}/{dataset.name}"
    problem = _images_problem(images)
    if problem is not None:
        return Skipped(address, problem)
    ordered = sorted(images, key=lambda image: local_file_name(image.image_name))
    stems: dict[str, int] = defaultdict(int)
    for image in ordered:
        stems[os.path.splitext(local_file_name(image.image_name))[0]] += 1
    sidecars: dict[str, str] = {}
    captions: dict[str, str] = {}
    for image in ordered:
        if image.caption_source != "manual" or not image.caption or not image.caption.strip():
            continue
        file_name = local_file_name(image.image_name)
        stem = os.path.splitext(file_name)[0]
        caption = image.caption.strip()  # as a manifest reads it back
        fits_sidecar = len(caption.encode("utf-8")) <= MAX_SIDECAR_BYTES
        if stems[stem] == 1 and fits_sidecar:
            sidecars[f"{stem}.txt"] = caption
        else:  # a sidecar would caption every image of that stem
            captions[file_name] = caption
    spec: dict[str, Any] = {"images": base}
    default = default_caption_prefix(
        project.ip_type, project.ip_medium, project.ip_name, project.ip_description
    )
    if dataset.caption_prefix and dataset.caption_prefix != default:
        spec["caption_prefix"] = dataset.caption_prefix
    spec.update(_current_dataset_fields(dataset))
    if captions:
        spec["captions"] = captions
    if dataset.status == "draft":
        spec["status"] = "draft"
    return DatasetExport(
        name=base,
        remote_name=dataset.name,
        manifest={
            "apiVersion": API_VERSION,
            "kind": "Dataset",
            "metadata": {"name": base, "project": project.project_name, "adopt": True},
            "spec": spec,
        },
        images=tuple(
            ImageDownload(
                local_file_name(image.image_name), image.image_name, image.image_url or ""
            )
            for image in ordered
        ),
        sidecars=sidecars,
    )


def _images_problem(images: Sequence[ImageRecord]) -> str | None:
    if not images:
        return "it has no images; a manifest needs 1-200 image files in its folder"
    if len(images) > MAX_IMAGES:
        return f"it has {len(images)} images; a manifest holds at most {MAX_IMAGES}"
    seen: set[str] = set()
    for image in images:
        if image.image_name == unnamed_image(image.id):
            return f"image {image.id} has no name in Bria, so no file can be matched to it"
        name = local_file_name(image.image_name)
        problem = file_name_problem(name)
        if problem is not None:
            return f"image '{image.image_name}' cannot be a file name in its folder: {problem}"
        if name.lower() in seen:
            return (
                f"two images are named '{name}' (ignoring case), so they cannot both be files "
                "in one folder; delete or rename one in the console"
            )
        seen.add(name.lower())
        if not image.image_url:
            return f"image '{name}' has no image_url, so it cannot be downloaded"
        bad = control_character(image.caption or "") if image.caption_source == "manual" else None
        if bad is not None:
            return (
                f"the caption of image '{name}' contains the control character {bad}, which "
                "a manifest cannot hold; fix the caption in the console"
            )
    return None


def local_file_name(remote_name: str) -> str:
    """The file an image is written to: its remote name, less the digest the reconciler adds
    (`lora-01.3f2a9c1b7d4e6a5b.png` -> `lora-01.png`)."""
    parsed = parse_image_remote_name(remote_name)
    return parsed.file_name if parsed is not None else remote_name


def file_name_problem(name: str) -> str | None:
    """Why a remote image name cannot be a file in a dataset folder, or None."""
    if not name or name in (".", ".."):
        return "it is empty or a dot name"
    if "/" in name or "\\" in name or "\0" in name:
        return "it contains a path separator"
    if not name.isprintable():
        return "it contains a control character"
    if name.startswith("."):
        return "it starts with '.', and hidden files are not images"
    if name.lower().endswith(".txt"):
        return "it ends with '.txt', which marks caption files"
    if len(name.encode("utf-8")) > 255:
        return "it is longer than 255 bytes"
    problem = image_name_problem(name)
    return f"it {problem}" if problem is not None else None


def convert_model(
    project: ProjectRecord,
    base: str,
    model: ModelRecord,
    dataset: DatasetRecord | None,
    imported: Mapping[str, str],
) -> ModelExport | Skipped:
    """`imported`: remote name of each imported dataset version -> its manifest name."""
    address = f"model.{project.project_name}/{model.name}"
    if model.status not in KEPT_MODEL_STATUSES:
        return Skipped(address, _WHY_NOT_MODEL.get(model.status, f"its status is {model.status}"))
    if dataset is None:
        return Skipped(address, "its dataset is not in this project")
    dataset_base = imported.get(dataset.name)
    if dataset_base is None:
        parsed = parse_versioned_name(dataset.name)
        current = next(
            (remote for remote, local in imported.items() if parsed and local == parsed.base),
            None,
        )
        if current is not None:
            return Skipped(
                address,
                f"it was trained on '{dataset.name}', an older version of '{current}': a "
                f"manifest would train it again on '{current}'",
            )
        return Skipped(address, f"its dataset '{dataset.name}' is not imported (see above)")
    if model.training_version == "max" and project.ip_medium == "photography":
        return Skipped(address, "training_version 'max' is not offered for photography projects")
    metadata: dict[str, Any] = {"name": base, "project": project.project_name}
    if model.status == "Completed":
        metadata["protect"] = True
    spec: dict[str, Any] = {"dataset": dataset_base, **_training_fields(model)}
    if model.description:
        spec["description"] = model.description
    return ModelExport(
        name=base,
        remote_name=model.name,
        status=model.status,
        manifest={"apiVersion": API_VERSION, "kind": "Model", "metadata": metadata, "spec": spec},
    )


def _current_dataset_fields(dataset: DatasetRecord) -> dict[str, Any]:
    """Bria's current generation: the visual schema (inline, when it is a JSON object) and the
    upload type, so the imported manifest keeps them."""
    fields: dict[str, Any] = {}
    if dataset.visual_schema:
        try:
            parsed = json.loads(dataset.visual_schema)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            fields["visual_schema"] = parsed
    if dataset.upload_type == "basic":
        fields["upload_type"] = "basic"
    return fields


def _training_fields(model: ModelRecord) -> dict[str, Any]:
    """training_version (reference) or training_mode, with an expert model's parameters as
    Bria reports them (current generation)."""
    if not model.training_mode:
        return {"training_version": model.training_version}
    fields: dict[str, Any] = {"training_mode": model.training_mode}
    if model.training_mode == "expert" and model.training_parameters is not None:
        parameters = model.training_parameters.as_dict()
        if parameters.get("lr_scheduler", "constant_with_warmup") != "constant_with_warmup":
            parameters.pop("lr_warmup_steps", None)
        if parameters:
            fields["training_parameters"] = parameters
    return fields


def _current_versions(
    project: str, kind: str, records: list[_Record]
) -> tuple[dict[str, _Record], list[Skipped]]:
    """base name -> the highest version (ties to the later id, as the planner does); the rest
    listed: names outside the scheme, older versions, and names Bria holds twice."""
    skipped: list[Skipped] = []
    versions: dict[str, list[tuple[int, _Record]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.id):
        address = f"{kind}.{project}/{record.name}"
        parsed = parse_versioned_name(record.name)
        problem = name_problem(parsed.base) if parsed else "it contains a stray '~'"
        if parsed is None or problem is not None:
            skipped.append(
                Skipped(
                    address,
                    f"its name cannot be a manifest name: {problem}; rename it in the console "
                    "to import it",
                )
            )
            continue
        versions[parsed.base].append((parsed.version, record))
    current: dict[str, _Record] = {}
    for base, found in versions.items():
        best_version = max(version for version, _ in found)
        best = [r for version, r in found if version == best_version][-1]
        twins = [r for _, r in found if r.name == best.name]
        if len(twins) > 1:
            ids = ", ".join(str(r.id) for r in twins)
            skipped.append(
                Skipped(
                    f"{kind}.{project}/{best.name}",
                    f"Bria holds {len(twins)} {kind}s named '{best.name}' (ids {ids}), so a "
                    "manifest could not say which one it means; rename the extra ones",
                )
            )
            continue
        current[base] = best
        for _, record in found:
            if record.id != best.id:
                skipped.append(
                    Skipped(
                        f"{kind}.{project}/{record.name}",
                        f"an older version of '{base}' (current: '{best.name}'); the manifest "
                        "declares the current one, older ones stay until pruned",
                    )
                )
    return current, skipped
