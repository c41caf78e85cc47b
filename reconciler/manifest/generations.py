"""The manifest rules that depend on the API generation a resource is written for.

A Model names its generation: `training_version` (light | max, the reference) or
`training_mode` (fully_automated | expert, Bria's published OpenAPI), exactly one. A Dataset is
of the current generation when it sets `visual_schema` or `upload_type`, or when a
`training_mode` model uses it; then the current generation's rules apply where they differ:
5 images to complete, a visual schema to complete, no caption_prefix, basic uploads only.
The published OpenAPI's parameter ranges are in the schema; the rules between fields are here.
The visual schema itself (a JSON file beside the manifest, or inline) is read here too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reconciler.manifest.diagnostics import DiagnosticSink, quote
from reconciler.manifest.documents import Resource
from reconciler.state import DesiredImage, TrainingParameterItems

CURRENT_MIN_IMAGES = 5  # "Minimum 5 images required to mark as completed."
# Start Training's published defaults, for the rules between parameters
DEFAULT_PARAMETERS: dict[str, Any] = {
    "lr_scheduler": "constant_with_warmup",
    "total_training_steps": 750,
    "checkpoint_interval": 500,
}
SCHEMA_FIX = "write one with `reconciler schema generate {project}/{name}`"


def training_parameter_items(value: object) -> TrainingParameterItems | None:
    """spec.training_parameters as the desired state's sorted (name, value) pairs."""
    if not isinstance(value, dict):
        return None
    items: list[tuple[str, int | float | str | None]] = []
    for name, raw in sorted(value.items()):
        if name == "learning_rate" and isinstance(raw, int | float) and not isinstance(raw, bool):
            items.append((name, float(raw)))
        elif isinstance(raw, float) and raw.is_integer():  # `rank: 64.0` (the schema allows
            items.append((str(name), int(raw)))  # it as an integer) is sent as 64
        elif isinstance(raw, int | str) and not isinstance(raw, bool):
            items.append((str(name), raw))
    return tuple(items)


def is_current_model(model: Resource) -> bool:
    return model.text("training_mode") is not None


def is_current_dataset(dataset: Resource, users: list[Resource]) -> bool:
    """Written for the current generation: its own fields, or a training_mode model uses it."""
    if "visual_schema" in dataset.spec or "upload_type" in dataset.spec:
        return True
    return any(is_current_model(model) for model in users)


def saved_checkpoints(parameters: dict[str, Any]) -> list[int]:
    """The steps an expert training saves: every checkpoint_interval, and the last step."""
    merged = {**DEFAULT_PARAMETERS, **parameters}
    total, interval = merged["total_training_steps"], merged["checkpoint_interval"]
    if not isinstance(total, int) or not isinstance(interval, int) or interval <= 0:
        return []
    return [*range(interval, total, interval), total]


def check_model_generation(model: Resource, sink: DiagnosticSink) -> None:
    """Exactly one of training_version / training_mode; expert-only fields only on expert."""
    if model.delete:
        return
    version, mode = model.text("training_version"), model.text("training_mode")
    if version is not None and mode is not None:
        model.error(
            sink,
            ("spec", "training_mode"),
            f"{model.subject} sets both training_version (the reference generation) and "
            "training_mode (Bria's current generation); keep the one your account uses",
        )
        return
    if "training_version" not in model.spec and "training_mode" not in model.spec:
        model.error(
            sink,
            ("spec",),
            f"{model.subject} is missing the required field 'spec.training_version' (light | "
            "max), or 'spec.training_mode' (fully_automated | expert) for Bria's current "
            "generation; set exactly one",
        )
        return
    parameters = model.spec.get("training_parameters")
    for field in ("training_parameters", "checkpoint"):
        if field in model.spec and mode != "expert":
            model.error(
                sink,
                ("spec", field),
                f"{model.subject} sets {field}, which only an expert model has; set "
                f"training_mode 'expert' or remove {field}",
            )
    if mode != "expert" or not isinstance(parameters, dict | None):
        return
    parameters = parameters or {}
    scheduler = parameters.get("lr_scheduler", DEFAULT_PARAMETERS["lr_scheduler"])
    if "lr_warmup_steps" in parameters and scheduler != "constant_with_warmup":
        model.error(
            sink,
            ("spec", "training_parameters", "lr_warmup_steps"),
            f"{model.subject} sets lr_warmup_steps, which Bria uses only with lr_scheduler "
            f"'constant_with_warmup', not {quote(scheduler)}; remove it or change the scheduler",
        )
    checkpoint = checkpoint_step(model.spec.get("checkpoint"))
    steps = saved_checkpoints(parameters)
    if checkpoint is not None and steps:
        if checkpoint not in steps:
            shown = ", ".join(str(step) for step in steps[:8]) + (", ..." if len(steps) > 8 else "")
            model.error(
                sink,
                ("spec", "checkpoint"),
                f"{model.subject}: checkpoint {checkpoint} is not a step the training saves "
                f"(every checkpoint_interval and the last step: {shown})",
            )


def check_project_lock(project: Resource, models: list[Resource], sink: DiagnosticSink) -> None:
    """Bria locks a project to one training version family (`training_version` 'max' or
    'fibo', the current generation's): max and training_mode models in one project clash."""
    if project.delete:
        return
    live = [m for m in models if not m.delete]
    maxed = sorted(m.name for m in live if m.text("training_version") == "max")
    current = sorted(m.name for m in live if is_current_model(m))
    if maxed and current:
        project.warning(
            sink,
            ("metadata", "name"),
            f"{project.subject} has max models ({', '.join(map(quote, maxed))}) and "
            f"training_mode models ({', '.join(map(quote, current))}); Bria locks a project to "
            "one training version family ('max' or 'fibo'), so it may refuse one of them: "
            "keep each family in its own project",
        )


def check_dataset_generation(
    dataset: Resource, users: list[Resource], sink: DiagnosticSink
) -> None:
    """One generation per dataset; the current one's fields and its rules."""
    if dataset.delete:
        return
    reference = sorted(
        m.name for m in users if m.text("training_version") is not None and not is_current_model(m)
    )
    current = sorted(m.name for m in users if is_current_model(m))
    if reference and current:
        dataset.error(
            sink,
            ("metadata", "name"),
            f"{dataset.subject} is used by models of both API generations (training_version: "
            f"{', '.join(map(quote, reference))}; training_mode: "
            f"{', '.join(map(quote, current))}); an account trains one generation: give each "
            "generation its own dataset",
        )
    if dataset.text("upload_type") == "advanced":
        dataset.error(
            sink,
            ("spec", "upload_type"),
            f"{dataset.subject}: upload_type 'advanced' (bulk zip upload, up to 5000 images) is "
            "not supported by the reconciler; use 'basic' (up to 200 images, one by one)",
        )
    if not is_current_dataset(dataset, users):
        return
    if "caption_prefix" in dataset.spec:
        dataset.error(
            sink,
            ("spec", "caption_prefix"),
            f"{dataset.subject} is written for Bria's current generation (visual_schema, "
            "upload_type or a training_mode model), which has no caption_prefix; describe the "
            "style in spec.visual_schema instead",
        )


def check_current_completion(
    dataset: Resource, count: int, users: list[Resource], sink: DiagnosticSink
) -> None:
    """A completed current-generation dataset needs 5 images and a visual schema."""
    if dataset.delete or not is_current_dataset(dataset, users):
        return
    if dataset.text("status") == "draft":
        return
    if 0 < count < CURRENT_MIN_IMAGES:
        dataset.error(
            sink,
            ("spec", "images"),
            f"{dataset.subject} has {count} images; Bria's current generation completes a "
            f"dataset only with at least {CURRENT_MIN_IMAGES} (add images, or set status: draft)",
        )
    if "visual_schema" not in dataset.spec:
        fix = SCHEMA_FIX.format(project=dataset.project, name=dataset.name)
        dataset.error(
            sink,
            ("spec",),
            f"{dataset.subject} is completed for Bria's current generation, which needs "
            f"spec.visual_schema first; {fix} and point spec.visual_schema at the file",
        )


def is_inline_json(value: str) -> bool:
    """spec.visual_schema written as the JSON string Bria stores (`'{"style": ...}'`), not a
    path: no file name starts with `{`."""
    return value.lstrip().startswith("{")


def visual_schema_file(dataset: Resource) -> str | None:
    """The file spec.visual_schema names (absolute, whether or not it exists yet)."""
    value = dataset.spec.get("visual_schema")
    if not isinstance(value, str) or not value.strip() or os.path.isabs(value):
        return None
    if is_inline_json(value):
        return None
    return str((dataset.document.path.parent / value).resolve())


def read_visual_schema(dataset: Resource, root: Path, sink: DiagnosticSink) -> str | None:
    """spec.visual_schema as the JSON text to send (a file's object, or the inline one: a YAML
    mapping or a JSON string, dumped compactly in its own key order); None when absent or
    unusable (reported)."""
    value = dataset.spec.get("visual_schema")
    where = ("spec", "visual_schema")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str) or not value.strip():
        return None
    if is_inline_json(value):
        try:
            inline = json.loads(value)
        except json.JSONDecodeError as err:
            dataset.error(
                sink,
                where,
                f"{dataset.subject}: the inline visual_schema is not JSON ({err.msg} at line "
                f"{err.lineno} column {err.colno}); write it as a JSON object, as a YAML "
                "mapping, or as a path to a .json file",
            )
            return None
        if isinstance(inline, dict):
            return json.dumps(inline, ensure_ascii=False)
    if os.path.isabs(value) or any(not ch.isprintable() for ch in value):
        dataset.error(
            sink,
            where,
            f"{dataset.subject}: visual_schema {quote(value)} must be a path relative to the "
            "manifest file",
        )
        return None
    path = (dataset.document.path.parent / value).resolve()
    if not path.is_relative_to(root):
        dataset.error(
            sink,
            where,
            f"{dataset.subject}: visual_schema {quote(value)} is outside the repository; keep "
            "the schema file beside the manifest",
        )
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        fix = SCHEMA_FIX.format(project=dataset.project, name=dataset.name)
        dataset.error(
            sink,
            where,
            f"{dataset.subject}: visual_schema file {quote(value)} cannot be read ({reason}); "
            f"{fix}",
        )
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        dataset.error(
            sink,
            where,
            f"{dataset.subject}: visual_schema file {quote(value)} is not JSON (line "
            f"{err.lineno}: {err.msg})",
        )
        return None
    if not isinstance(parsed, dict):
        dataset.error(
            sink,
            where,
            f"{dataset.subject}: visual_schema file {quote(value)} must hold a JSON object",
        )
        return None
    return json.dumps(parsed, ensure_ascii=False)


def check_current_captions(
    dataset: Resource, images: tuple[DesiredImage, ...], users: list[Resource], sink: DiagnosticSink
) -> None:
    """The current generation takes a caption only as a string holding a JSON object."""
    if dataset.delete or not is_current_dataset(dataset, users):
        return
    for image in images:
        if image.caption is None or _is_json_object(image.caption):
            continue
        if image.caption_origin == "manifest":
            where: tuple[str, ...] = ("spec", "captions", image.file_name)
            origin = "spec.captions"
        else:
            where = ("spec", "images")
            origin = f"sidecar {quote(Path(image.file_name).stem + '.txt')}"
        dataset.error(
            sink,
            where,
            f"{dataset.subject}: the caption of {quote(image.file_name)} ({origin}) is not JSON; "
            "Bria's current generation takes a caption as a JSON structure (e.g. "
            '{"subject": "..."}): write it as JSON, or leave it out for the automatic caption',
        )


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def checkpoint_step(value: object) -> int | None:
    """spec.checkpoint: a step, written as a number or as Bria's active_model_version string."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():  # 750.0: the schema's integer too
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
