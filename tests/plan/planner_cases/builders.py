"""Compact builders for planner tests: desired and live states from small dicts, and one-line
descriptions of steps that tests (and the JSON cases in this folder) compare exactly.

Image content is a short string standing in for the file's bytes: its sha256 is the digest, so
"same content" means "same digest" as it does for real files. Live images are named the way the
reconciler names them (`<stem>.<digest16><ext>`), unless a case gives a raw `image_name`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler.naming import image_remote_name, parse_image_remote_name
from reconciler.state import (
    DesiredDataset,
    DesiredImage,
    DesiredModel,
    DesiredProject,
    DesiredState,
    LiveDataset,
    LiveImage,
    LiveModel,
    LiveProject,
    LiveState,
    Source,
)
from reconciler.steps import Ref, Step

PROJECT_DEFAULTS = {"ip_type": "defined_character", "ip_medium": "illustration"}


def digest_of(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def desired_image(spec: str | dict[str, Any]) -> DesiredImage:
    """ "a.png" (content "a.png") or {"file": "a.png", "content": "v2", "caption": "..."}."""
    if isinstance(spec, str):
        spec = {"file": spec}
    file_name = spec["file"]
    content = spec.get("content", file_name)
    return DesiredImage(
        file_name=file_name,
        path=f"/data/{file_name}",
        digest=digest_of(content),
        size=len(content),
        caption=spec.get("caption"),
        caption_origin="manifest" if spec.get("caption") is not None else None,
    )


def _protected(spec: dict[str, Any]) -> dict[str, Any]:
    """`"protected": true` stands for `metadata.protect: true` written at manifest.yaml:4:3."""
    if spec.get("protected"):
        return {**spec, "protected": Source("manifest.yaml", 4, 3)}
    return spec


def desired_state(spec: dict[str, Any]) -> DesiredState:
    projects = tuple(
        DesiredProject(**_protected({**PROJECT_DEFAULTS, **p})) for p in spec.get("projects", ())
    )
    datasets = tuple(
        DesiredDataset(
            **{k: v for k, v in _protected(d).items() if k not in ("images", "visual_schema")},
            images=tuple(sorted((desired_image(i) for i in d["images"]), key=_file_name)),
            visual_schema=_schema_text(d.get("visual_schema")),
        )
        for d in spec.get("datasets", ())
    )
    models = tuple(
        DesiredModel(
            **{k: v for k, v in _protected(m).items() if k != "training_parameters"},
            training_parameters=_items(m.get("training_parameters")),
        )
        for m in spec.get("models", ())
    )
    return DesiredState(projects, datasets, models)


def live_image(spec: str | dict[str, Any], image_id: int) -> LiveImage:
    """ "a.png" or {"file": "a.png", "content": ..., "caption": ..., "caption_source": ...}
    or {"image_name": "raw.png"} for an image the reconciler did not upload."""
    if isinstance(spec, str):
        spec = {"file": spec}
    name = spec.get("image_name") or image_remote_name(
        spec["file"], digest_of(spec.get("content", spec["file"]))
    )
    return LiveImage(
        id=spec.get("id", image_id),
        image_name=name,
        caption=spec.get("caption", f"auto caption of {spec.get('file', name)}"),
        caption_source=spec.get("caption_source", "automatic"),
    )


def live_state(spec: dict[str, Any]) -> LiveState:
    next_id = iter(range(1000, 100000))
    projects = []
    for p in spec.get("projects", ()):
        datasets = []
        for d in p.get("datasets") or ():
            images = d.get("images")
            datasets.append(
                LiveDataset(
                    id=d["id"],
                    project_id=p["id"],
                    name=d["name"],
                    status=d.get("status", "completed"),
                    caption_prefix=d.get("caption_prefix"),
                    captions_update_status=d.get("captions_update_status"),
                    visual_schema=_schema_text(d.get("visual_schema")),
                    upload_type=d.get("upload_type"),
                    caption_prefix_answered="caption_prefix" in d,
                    images=None
                    if images is None
                    else tuple(live_image(i, next(next_id)) for i in images),
                    models=tuple(
                        LiveModel(
                            id=m["id"],
                            name=m["name"],
                            dataset_id=m.get("dataset_id", d["id"]),
                            training_version=m.get(
                                "training_version", "" if "training_mode" in m else "light"
                            )
                            or "",
                            status=m.get("status", "Completed"),
                            description=m.get("description"),
                            training_mode=m.get("training_mode"),
                            training_parameters=_items(m.get("training_parameters")),
                            active_model_version=m.get("active_model_version"),
                            created_at=m.get("created_at"),
                            updated_at=m.get("updated_at"),
                            checkpoint_steps=(
                                None
                                if m.get("checkpoint_steps") is None
                                else tuple(m["checkpoint_steps"])
                            ),
                        )
                        for m in d.get("models", ())
                    ),
                )
            )
        fields = {**PROJECT_DEFAULTS, **{k: v for k, v in p.items() if k != "datasets"}}
        read = p.get("datasets", ()) is not None
        projects.append(LiveProject(**fields, datasets=tuple(datasets) if read else None))
    return LiveState(tuple(projects))


def _file_name(image: DesiredImage) -> str:
    return image.file_name


def _schema_text(value: Any) -> str | None:
    """A visual schema given as a JSON object (dumped) or as the text itself."""
    return json.dumps(value) if isinstance(value, dict) else value


def _items(value: dict[str, Any] | None) -> tuple[tuple[str, Any], ...] | None:
    return None if value is None else tuple(sorted(value.items()))


# ---------------------------------------------------------------- describing steps


def ref_text(ref: Ref) -> str:
    name = ref.project if ref.kind == "project" else f"{ref.project}/{ref.remote_name}"
    return name + (f"#{ref.id}" if ref.id is not None else "")


def image_text(image_name: str) -> str:
    parsed = parse_image_remote_name(image_name)
    return parsed.file_name if parsed else f"raw:{image_name}"


def step_line(step: Step) -> str:
    """`s004 UploadImage lora/lora-v1 a.png <- s003`: the op, its target, its arguments."""
    parts = [step.id, step.op]
    args = vars(step)
    for key in ("project", "source", "dataset", "model"):
        if key in args and isinstance(args[key], Ref):
            parts.append(ref_text(args[key]))
    if "image_name" in args:
        parts.append(image_text(args["image_name"]))
    if "caption" in args:
        parts.append(repr(args["caption"]))
    if "training_version" in args:
        parts.append(args["training_mode"] or args["training_version"])
    if args.get("upload_type"):
        parts.append(f"upload_type={args['upload_type']}")
    if args.get("parameters"):
        parts.append(
            "{" + ", ".join(f"{k}={v}" for k, v in sorted(args["parameters"].items())) + "}"
        )
    if "fields" in args:
        parts.append("{" + ", ".join(f"{k}={v}" for k, v in sorted(args["fields"].items())) + "}")
    line = " ".join(parts)
    if step.depends_on:
        line += " <- " + " ".join(step.depends_on)
    return line
