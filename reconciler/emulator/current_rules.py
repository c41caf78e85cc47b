"""Input rules of Bria's current API generation (the published OpenAPI), as pure body checks.

The emulator's `current` profile uses these where the published OpenAPI differs from the
reference: datasets take `upload_type` and `visual_schema` (no `caption_prefix`), models take
`training_mode` (no `training_version`), `start_training` takes the expert parameters with the
published ranges and defaults, and generation moves to `POST /v2/image/generate/tailored`.
Rules that depend on stored state live in `behaviour.py` and `training.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.rules import (
    DATASET_STATUSES,
    ApiError,
    check_enum,
    optional_string,
    require_object,
    required_int,
    required_string,
)
from reconciler.emulator.visual_schema import check_schema_text

UPLOAD_TYPES = ("basic", "advanced")
TRAINING_MODES = ("fully_automated", "expert")
LR_SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
)
# Start Training's published defaults
DEFAULT_PARAMETERS: dict[str, Any] = {
    "rank": 128,
    "learning_rate": 0.0001,
    "lr_scheduler": "constant_with_warmup",
    "total_training_steps": 750,
    "checkpoint_interval": 500,
    "lr_warmup_steps": 100,
}
# name -> (low, high); None = no bound
INTEGER_RANGES: dict[str, tuple[int, int | None]] = {
    "rank": (4, 256),
    "total_training_steps": (1, 5000),
    "checkpoint_interval": (100, None),
    "lr_warmup_steps": (0, 1000),
}
LEARNING_RATE_RANGE = (0.000001, 0.001)
PARAMETER_NAMES = tuple(DEFAULT_PARAMETERS)
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9")


def check_dataset_create(body: Any) -> tuple[int, str, str]:
    """Create Dataset: project_id, name and upload_type (basic | advanced, default basic)."""
    body = require_object(body)
    project_id = required_int(body, "project_id")
    name = required_string(body, "name")
    upload_type = body.get("upload_type", "basic")
    return project_id, name, check_enum("upload_type", upload_type, UPLOAD_TYPES)


def check_dataset_update(body: Any) -> dict[str, Any]:
    """Update Dataset: name, visual_schema (a JSON string) and status; no caption_prefix."""
    body = require_object(body)
    if "caption_prefix" in body:
        raise ApiError(400, "caption_prefix is not supported: datasets use a visual_schema instead")
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = required_string(body, "name")
    if "visual_schema" in body:
        changes["visual_schema"] = check_schema_text(body["visual_schema"])
    if "status" in body:
        changes["status"] = check_enum("status", body["status"], DATASET_STATUSES)
    return changes


def check_model_create(body: Any) -> dict[str, Any]:
    """Create Model: name, dataset_id, training_mode (default fully_automated), description."""
    body = require_object(body)
    if "training_version" in body:
        raise ApiError(
            400,
            "training_version is not supported: use training_mode (fully_automated | expert)",
        )
    name = required_string(body, "name")
    dataset_id = required_int(body, "dataset_id")
    mode = check_enum("training_mode", body.get("training_mode", "fully_automated"), TRAINING_MODES)
    return {
        "name": name,
        "dataset_id": dataset_id,
        "training_mode": mode,
        "description": optional_string(body, "description") or "",
    }


def check_training_parameters(body: Any, training_mode: str) -> dict[str, Any]:
    """Start Training's body: the parameters to train with (defaults filled in for expert;
    `{}` for fully automated, where any parameter is refused)."""
    body = {} if body is None else require_object(body)
    given = {name: body[name] for name in PARAMETER_NAMES if name in body}
    if training_mode != "expert":
        if given:
            raise ApiError(
                400,
                "Advanced training parameters are only supported when the model's "
                "training_mode is set to 'expert'",
            )
        return {}
    parameters = {**DEFAULT_PARAMETERS, **given}
    for name, (low, high) in INTEGER_RANGES.items():
        value = parameters[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"Invalid {name}: must be an integer")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ApiError(400, f"Invalid {name} {value}: must be {bound}")
    rate = parameters["learning_rate"]
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise ApiError(400, "Invalid learning_rate: must be a number")
    low_rate, high_rate = LEARNING_RATE_RANGE
    if not low_rate <= rate <= high_rate:
        raise ApiError(
            400, f"Invalid learning_rate {rate}: must be between {low_rate} and {high_rate}"
        )
    parameters["learning_rate"] = float(rate)
    check_enum("lr_scheduler", parameters["lr_scheduler"], LR_SCHEDULERS)
    if parameters["lr_scheduler"] != "constant_with_warmup":
        parameters["lr_warmup_steps"] = None  # relevant only with warmup, answered as null
    return parameters


def checkpoint_steps(parameters: dict[str, Any]) -> list[int]:
    """The steps an expert training saves: every checkpoint_interval, and the last step."""
    total, interval = parameters["total_training_steps"], parameters["checkpoint_interval"]
    steps = list(range(interval, total, interval))
    return [*steps, total]


@dataclass(frozen=True)
class GenerationV2Request:
    model_ref: str
    prompt: str | None
    structured_prompt: str | None
    seed: int | None
    aspect_ratio: str
    sync: bool


def _number_in(body: dict[str, Any], field: str, low: float, high: float, *, whole: bool) -> None:
    if field not in body:
        return
    value = body[field]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (whole and not isinstance(value, int))
    ):
        raise ApiError(400, f"Invalid {field}: must be {'an integer' if whole else 'a number'}")
    if not low <= value <= high:
        raise ApiError(400, f"Invalid {field} {value}: must be between {low:g} and {high:g}")


def _flag(body: dict[str, Any], field: str, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise ApiError(400, f"Invalid {field}: must be a boolean")
    return value


def check_generation_v2(body: Any) -> GenerationV2Request:
    """Generate Image - Tailored Model: one of prompt, structured_prompt + seed, or both."""
    body = require_object(body)
    model_ref = body.get("tailored_model_id")
    if isinstance(model_ref, int) and not isinstance(model_ref, bool):
        model_ref = str(model_ref)
    if not isinstance(model_ref, str) or not model_ref.strip():
        raise ApiError(400, "Missing required field: tailored_model_id")
    prompt = optional_string(body, "prompt")
    structured = optional_string(body, "structured_prompt")
    prompt = prompt if prompt and prompt.strip() else None
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ApiError(400, "Invalid seed: must be an integer")
    if prompt is None and structured is None:
        raise ApiError(400, "Either prompt or structured_prompt must be provided")
    if structured is not None:
        try:
            json.loads(structured)
        except json.JSONDecodeError:
            raise ApiError(400, "Invalid structured_prompt: must be a JSON string") from None
        if prompt is None and seed is None:
            raise ApiError(400, "structured_prompt without a prompt requires a seed")
    _number_in(body, "tailored_model_influence", 0.0, 1.5, whole=False)
    _number_in(body, "guidance_scale", 3, 5, whole=True)
    _number_in(body, "steps_num", 20, 50, whole=True)
    optional_string(body, "negative_prompt")
    for flag in ("prompt_content_moderation", "visual_output_content_moderation"):
        _flag(body, flag, True)
    return GenerationV2Request(
        model_ref=model_ref.strip(),
        prompt=prompt,
        structured_prompt=structured,
        seed=seed,
        aspect_ratio=check_enum("aspect_ratio", body.get("aspect_ratio", "1:1"), ASPECT_RATIOS),
        sync=_flag(body, "sync", False),
    )
