"""Answers of routes only Bria's current API generation has (the published OpenAPI), read
strictly like `records.py` reads the rest: checkpoints, a generated visual schema, and the `/v2`
image generation with its status service.

The status service is not in the published OpenAPI file; its shape follows Bria's status
documentation (docs.bria.ai/status): `status` one of IN_PROGRESS, COMPLETED, ERROR, UNKNOWN
(any case), and on COMPLETED a `result` with `image_url` (and `structured_prompt`, `seed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.client.records import (
    RecordError,
    _frozen,
    _is_int,
    _json_type,
    _object,
    _schema_text,
    opt_int,
    opt_str,
    parse_list,
    req_int,
    req_str,
)

GENERATION_STATUSES = frozenset({"IN_PROGRESS", "COMPLETED", "ERROR", "UNKNOWN"})


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_step: int
    training_job_id: int | None
    created_at: str | None


@dataclass(frozen=True)
class CheckpointList:
    checkpoints: tuple[Checkpoint, ...]  # by step
    active_model_version: str | None  # the checkpoint selected for inference


@dataclass(frozen=True)
class GenerationResult:
    """A finished generation: the image, and the structured prompt it was made from (pass it
    back with the seed to recreate the image exactly)."""

    image_url: str
    structured_prompt: str | None
    seed: int | None
    raw: Mapping[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True)
class GenerationAccepted:
    """A 202: the generation runs; poll the status service with `request_id`."""

    request_id: str
    status_url: str | None


@dataclass(frozen=True)
class GenerationStatus:
    request_id: str
    status: str  # IN_PROGRESS | COMPLETED | ERROR | UNKNOWN
    result: GenerationResult | None  # on COMPLETED
    error: str | None  # on ERROR, Bria's message when it gives one


def parse_checkpoint(data: Any, what: str = "checkpoint") -> Checkpoint:
    obj = _object(data, what)
    return Checkpoint(
        checkpoint_step=req_int(obj, "checkpoint_step", what),
        training_job_id=opt_int(obj, "training_job_id", what),
        created_at=opt_str(obj, "created_at", what),
    )


def parse_checkpoint_list(data: Any) -> CheckpointList:
    obj = _object(data, "checkpoint list")
    checkpoints = parse_list(obj.get("checkpoints", []), parse_checkpoint, "checkpoint")
    active = obj.get("active_model_version")
    if active is not None and (isinstance(active, bool) or not isinstance(active, str | int)):
        raise RecordError(
            f"checkpoint list field 'active_model_version' should be a string, "
            f"got {_json_type(active)}"
        )
    return CheckpointList(
        checkpoints=tuple(sorted(checkpoints, key=lambda c: c.checkpoint_step)),
        active_model_version=None if active is None else str(active),
    )


def parse_visual_schema(data: Any) -> str:
    """`visual_schema` is published as a string holding JSON; the JSON object itself is read as
    its text, as dataset records are."""
    what = "visual schema answer"
    obj = _object(data, what)
    text = _schema_text(obj.get("visual_schema"), what)
    if text is None:
        raise RecordError(f"{what} has no 'visual_schema'")
    return text


def parse_generation_result(data: Any, what: str = "generation result") -> GenerationResult:
    obj = _object(data, what)
    return GenerationResult(
        image_url=req_str(obj, "image_url", what),
        structured_prompt=opt_str(obj, "structured_prompt", what),
        seed=opt_int(obj, "seed", what),
        raw=_frozen(obj),
    )


def parse_generation_answer(data: Any) -> GenerationResult | GenerationAccepted:
    """200 (`image_url`, or Bria's `{"result": {...}}`) or 202 (`request_id`, `status_url`)."""
    obj = _object(data, "generation answer")
    if isinstance(obj.get("result"), Mapping):
        return parse_generation_result(obj["result"])
    if obj.get("image_url") is not None:
        return parse_generation_result(obj)
    status_url = opt_str(obj, "status_url", "generation answer")
    if obj.get("request_id") is None:
        # only the status URL (.../v2/status/{request_id}): its last segment is the request id
        tail = (status_url or "").split("?")[0].rstrip("/").rpartition("/")[2]
        if not tail or not all(c.isalnum() or c in "-_" for c in tail):
            raise RecordError("generation answer has neither 'image_url' nor 'request_id'")
        return GenerationAccepted(request_id=tail, status_url=status_url)
    request_id = obj["request_id"]
    if _is_int(request_id):  # published as a string; a number is the same id
        request_id = str(request_id)
    return GenerationAccepted(
        request_id=req_str({"request_id": request_id}, "request_id", "generation answer"),
        status_url=status_url,
    )


def parse_generation_status(data: Any, request_id: str) -> GenerationStatus:
    what = "generation status"
    obj = _object(data, what)
    status = req_str(obj, "status", what).upper()
    if status not in GENERATION_STATUSES:
        raise RecordError(
            f"{what} field 'status' has unknown value {obj['status']!r} "
            f"(expected one of {', '.join(sorted(GENERATION_STATUSES))})"
        )
    answered = obj.get("request_id")
    if answered is not None and str(answered) != request_id:
        raise RecordError(f"{what} is for request {answered!r}, not {request_id!r}")
    result = None
    if status == "COMPLETED":
        if not isinstance(obj.get("result"), Mapping):
            raise RecordError(f"{what} is COMPLETED but has no 'result'")
        result = parse_generation_result(obj["result"], f"{what} result")
    error = obj.get("error")
    message = error.get("message") if isinstance(error, Mapping) else error
    return GenerationStatus(
        request_id=request_id,
        status=status,
        result=result,
        error=message if isinstance(message, str) else None,
    )
