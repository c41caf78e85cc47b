"""What Bria answered, read strictly into typed records.

The planner acts on these values, so a misread must stop the run instead of guessing: a missing
id, name or status, a wrong type or an unknown enum value raises `RecordError` (the client turns
it into a `MalformedResponse` naming the call). Optional fields may be missing or null, and unknown
extra fields are ignored; the whole answer stays in `raw`. An image without `image_name` (optional
on upload) is named `unnamed_image(id)`.

Two API generations: the reference's (models with `training_version` light | max, datasets with
`caption_prefix`) and Bria's published OpenAPI, which accounts made today follow (models with
`training_mode`, `training_parameters`, `checkpoint_steps`, `active_model_version`; datasets with
`visual_schema` and `upload_type`; projects with a `training_version` lock). Every record reads
either shape: a field of the other generation is simply absent (None, or "" for a model's
`training_version`), never an error.

Normalisation: model status to Created/InProgress/Completed/Failed/Stopping/Stopped/Deleted
whatever the case (Bria answers "created" on create and "Completed" on get), training_version and
dataset status to lower case.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from reconciler.state import ModelStatus

IP_TYPES = frozenset(
    {
        "multi_object_set",
        "object_variants",
        "icons",
        "defined_character",
        "character_variants",
        "stylized_scene",
        "other",
    }
)
IP_MEDIUMS = frozenset({"photography", "illustration"})
DATASET_STATUSES = frozenset({"draft", "completed"})
CAPTIONS_UPDATE_STATUSES = frozenset({"empty", "in_progress", "completed"})
CAPTION_SOURCES = frozenset({"automatic", "manual", "unknown", "pending"})
TRAINING_VERSIONS = frozenset({"light", "max"})
TRAINING_MODES = frozenset({"fully_automated", "expert"})
UPLOAD_TYPES = frozenset({"basic", "advanced"})
MODEL_STATUSES = tuple(ModelStatus)
_MODEL_STATUS_BY_KEY = {status.lower(): status for status in MODEL_STATUSES}

T = TypeVar("T")


class RecordError(ValueError):
    """The answer does not have the shape the reference promises."""


class UnknownValue(RecordError):
    """A field holds a value outside its enum: a newer API, or a misread. A lenient list skips
    the record instead (`RecordList.skipped`) and lets the caller decide."""


@dataclass(frozen=True)
class SkippedRecord:
    """A list item left out by a lenient `parse_list`: its id and name when readable, and why."""

    id: int | None
    name: str | None
    problem: str
    dataset_id: int | None = None  # a model's dataset, when the item names one


class RecordList(list[T]):
    """A parsed list answer; `skipped` holds the items a lenient parse left out."""

    skipped: tuple[SkippedRecord, ...] = ()


def _frozen(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(data))


@dataclass(frozen=True)
class ImageRecord:
    id: int
    dataset_id: int
    image_name: str
    caption: str | None
    caption_source: str | None  # automatic | manual | unknown | pending
    image_url: str | None
    thumbnail_url: str | None
    raw: Mapping[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True)
class TrainingParameters:
    """The current generation's expert training parameters, as a model record carries them
    (`{}` for a fully automated model or one not started yet: every field None)."""

    rank: int | None = None
    learning_rate: float | None = None
    lr_scheduler: str | None = None
    total_training_steps: int | None = None
    checkpoint_interval: int | None = None
    lr_warmup_steps: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The parameters that are set, by their API names."""
        return {
            name: getattr(self, name)
            for name in TRAINING_PARAMETER_NAMES
            if getattr(self, name) is not None
        }


TRAINING_PARAMETER_NAMES = (
    "rank",
    "learning_rate",
    "lr_scheduler",
    "total_training_steps",
    "checkpoint_interval",
    "lr_warmup_steps",
)


@dataclass(frozen=True)
class ModelRecord:
    """A model of either generation. After start/stop training Bria may answer only
    {id, status}: then `name` and `training_version` are "" and the rest None; re-read with
    get_model for the full record.

    Reference generation: `training_version` light | max. Current generation: `training_version`
    is "" and `training_mode` is fully_automated | expert, with `active_model_version` (the
    checkpoint used for inference, "default" until trained), `training_parameters` and
    `checkpoint_steps` (None when the answer leaves them out, as lists do unless asked)."""

    id: int
    name: str
    status: str  # normalised, one of MODEL_STATUSES
    training_version: str  # light | max ("" in a partial answer or a current-generation model)
    dataset_id: int | None
    project_id: int | None
    description: str | None
    generation_prefix: str | None
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    training_mode: str | None = None  # fully_automated | expert (current generation)
    active_model_version: str | None = None
    training_parameters: TrainingParameters | None = None
    checkpoint_steps: tuple[int, ...] | None = None

    @property
    def generation(self) -> str | None:
        """The generation: "reference" (training_version), "current" (training_mode), or None when
        the answer names neither (a partial answer, or Update Model's, which has neither)."""
        if self.training_mode:
            return "current"
        if self.training_version:
            return "reference"
        return None


@dataclass(frozen=True)
class ProjectRecord:
    id: int
    project_name: str
    ip_type: str
    ip_medium: str
    project_description: str | None
    ip_name: str | None
    ip_description: str | None
    status: str | None  # "active" in the reference; no documented enum
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    # current generation: the training version family the project is locked to ("fibo", "max";
    # None when unlocked or not answered)
    training_version: str | None = None


@dataclass(frozen=True)
class DatasetRecord:
    id: int
    project_id: int
    name: str
    status: str  # draft | completed
    caption_prefix: str | None
    captions_update_status: str | None  # empty | in_progress | completed
    images_count: int | None
    images: tuple[ImageRecord, ...] | None  # None when the answer has no "images"
    models: tuple[ModelRecord, ...] | None  # only with include_models
    model_ids: tuple[int, ...] | None  # only with include_models_ids
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    # current generation: the JSON visual schema (a string, as Bria stores it) and upload type
    visual_schema: str | None = None
    upload_type: str | None = None  # basic | advanced
    # embedded models a lenient parse left out (an unknown status): the caller decides
    skipped_models: tuple[SkippedRecord, ...] = field(default=(), compare=False, repr=False)


# ---------------------------------------------------------------- field readers


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise RecordError(f"expected a JSON object for {what}, got {_json_type(data)}")
    return data


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def req_int(data: Mapping[str, Any], key: str, what: str) -> int:
    if key not in data or data[key] is None:
        raise RecordError(f"{what} has no '{key}'")
    value = data[key]
    if not _is_int(value):
        raise RecordError(f"{what} field '{key}' should be an integer, got {_json_type(value)}")
    return int(value)


def opt_int(data: Mapping[str, Any], key: str, what: str) -> int | None:
    if data.get(key) is None:
        return None
    return req_int(data, key, what)


def req_str(data: Mapping[str, Any], key: str, what: str) -> str:
    if key not in data or data[key] is None:
        raise RecordError(f"{what} has no '{key}'")
    value = data[key]
    if not isinstance(value, str):
        raise RecordError(f"{what} field '{key}' should be a string, got {_json_type(value)}")
    return value


def opt_str(data: Mapping[str, Any], key: str, what: str) -> str | None:
    if data.get(key) is None:
        return None
    return req_str(data, key, what)


def _enum(value: str, allowed: frozenset[str], key: str, what: str) -> str:
    if value not in allowed:
        raise UnknownValue(
            f"{what} field '{key}' has unknown value {value!r} "
            f"(expected one of {', '.join(sorted(allowed))})"
        )
    return value


def req_enum(data: Mapping[str, Any], key: str, allowed: frozenset[str], what: str) -> str:
    return _enum(req_str(data, key, what).lower(), allowed, key, what)


def opt_enum(data: Mapping[str, Any], key: str, allowed: frozenset[str], what: str) -> str | None:
    value = opt_str(data, key, what)
    return None if value is None else _enum(value.lower(), allowed, key, what)


def normalise_model_status(value: str, what: str = "model") -> str:
    key = value.replace("_", "").replace(" ", "").replace("-", "").lower()
    if key not in _MODEL_STATUS_BY_KEY:
        raise UnknownValue(
            f"{what} field 'status' has unknown value {value!r} "
            f"(expected one of {', '.join(MODEL_STATUSES)})"
        )
    return _MODEL_STATUS_BY_KEY[key]


def _model_ids(value: Any, what: str) -> tuple[int, ...]:
    """The published OpenAPI types `model_ids` as strings; integers are accepted too."""
    if isinstance(value, list):
        if all(_is_int(item) for item in value):
            return tuple(int(item) for item in value)
        if all(isinstance(item, str) and item.isascii() and item.isdigit() for item in value):
            return tuple(int(item) for item in value)
    raise RecordError(f"{what} field 'model_ids' should be an array of model ids")


def parse_list(
    data: Any, parse_item: Callable[[Any, str], T], what: str, *, lenient: bool = False
) -> RecordList[T]:
    """A JSON array of records; an item's problem names its index. Two records under one id
    are an error (acting on either could hit the other). `lenient`: an item with an unknown enum
    value is skipped (see `RecordList.skipped`) rather than failing the whole answer."""
    if not isinstance(data, list):
        raise RecordError(f"expected a JSON array of {what}s, got {_json_type(data)}")
    records: RecordList[T] = RecordList()
    skipped: list[SkippedRecord] = []
    for index, item in enumerate(data):
        try:
            records.append(parse_item(item, f"{what} #{index}"))
        except UnknownValue as exc:
            if not lenient:
                raise
            skipped.append(_skipped(item, str(exc)))
    records.skipped = tuple(skipped)
    _check_unique_ids(data, what)
    return records


def _skipped(item: Any, problem: str) -> SkippedRecord:
    obj = item if isinstance(item, Mapping) else {}
    item_id, name = obj.get("id"), obj.get("name", obj.get("project_name"))
    dataset_id = obj.get("dataset_id")
    return SkippedRecord(
        id=item_id if _is_int(item_id) else None,
        name=name if isinstance(name, str) else None,
        problem=problem,
        dataset_id=dataset_id if _is_int(dataset_id) else None,
    )


def _check_unique_ids(data: list[Any], what: str) -> None:
    by_id: dict[int, list[int]] = {}
    for index, item in enumerate(data):
        if isinstance(item, Mapping) and _is_int(item.get("id")):
            by_id.setdefault(item["id"], []).append(index)
    for record_id, indexes in by_id.items():
        if len(indexes) > 1:
            shown = ", ".join(f"#{i} {_name_of(data[i])}".rstrip() for i in indexes[:4])
            more = ", ..." if len(indexes) > 4 else ""
            raise RecordError(
                f"{len(indexes)} {what}s have id {record_id} ({shown}{more}); one id must name "
                "one record"
            )


def _name_of(item: Mapping[str, Any]) -> str:
    for key in ("project_name", "name", "image_name"):
        value = item.get(key)
        if isinstance(value, str):
            return repr(value)
    return ""


# ---------------------------------------------------------------- records


def parse_project(data: Any, what: str = "project") -> ProjectRecord:
    obj = _object(data, what)
    return ProjectRecord(
        id=req_int(obj, "id", what),
        project_name=req_str(obj, "project_name", what),
        ip_type=req_enum(obj, "ip_type", IP_TYPES, what),
        ip_medium=req_enum(obj, "ip_medium", IP_MEDIUMS, what),
        project_description=opt_str(obj, "project_description", what),
        ip_name=opt_str(obj, "ip_name", what),
        ip_description=opt_str(obj, "ip_description", what),
        status=opt_str(obj, "status", what),
        raw=_frozen(obj),
        training_version=_lower(opt_str(obj, "training_version", what)),
    )


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def unnamed_image(image_id: int) -> str:
    """The name an image uploaded without `image_name` (optional in Upload Image) is known by:
    stable across reads, and never the name of a file the reconciler uploads."""
    return f"(unnamed image {image_id})"


def parse_image(data: Any, what: str = "image", *, dataset_id: int | None = None) -> ImageRecord:
    """`dataset_id` is the dataset the image was read from: used when the answer omits it, and a
    different value in the answer is an error (the image would be misattributed)."""
    obj = _object(data, what)
    answered = opt_int(obj, "dataset_id", what)
    if answered is None and dataset_id is None:
        raise RecordError(f"{what} has no 'dataset_id'")
    if answered is not None and dataset_id is not None and answered != dataset_id:
        raise RecordError(f"{what} belongs to dataset {answered}, not to dataset {dataset_id}")
    resolved = answered if answered is not None else dataset_id
    assert resolved is not None
    image_id = req_int(obj, "id", what)
    return ImageRecord(
        id=image_id,
        dataset_id=resolved,
        image_name=opt_str(obj, "image_name", what) or unnamed_image(image_id),
        caption=opt_str(obj, "caption", what),
        caption_source=opt_enum(obj, "caption_source", CAPTION_SOURCES, what),
        image_url=opt_str(obj, "image_url", what),
        thumbnail_url=opt_str(obj, "thumbnail_url", what),
        raw=_frozen(obj),
    )


def _or(answered: int | None, implied: int | None) -> int | None:
    return answered if answered is not None else implied


def belongs(answered: int | None, expected: int | None, parent: str, what: str) -> None:
    """A record listed under a parent (`dataset` 12) must not name another one: acting on it
    as the parent's would misattribute it (and e.g. prune it from the wrong project)."""
    if answered is not None and expected is not None and answered != expected:
        raise RecordError(f"{what} belongs to {parent} {answered}, not to {parent} {expected}")


def parse_model(
    data: Any,
    what: str = "model",
    *,
    partial: bool = False,
    project_id: int | None = None,
    dataset_id: int | None = None,
) -> ModelRecord:
    """`partial`: the answer to start/stop training, where only id and status are promised.
    `project_id`/`dataset_id`: where the model was listed (checked against the answer)."""
    obj = _object(data, what)
    belongs(opt_int(obj, "project_id", what), project_id, "project", what)
    belongs(opt_int(obj, "dataset_id", what), dataset_id, "dataset", what)
    if partial and obj.get("name") is None:
        name = ""
    else:
        name = req_str(obj, "name", what)
    training_mode = opt_enum(obj, "training_mode", TRAINING_MODES, what)
    family = opt_str(obj, "training_version", what)
    if training_mode is not None and family is not None and family.lower() not in TRAINING_VERSIONS:
        training_version = ""  # a current model naming its family ("fibo", as projects do)
    else:
        training_version = opt_enum(obj, "training_version", TRAINING_VERSIONS, what) or ""
    return ModelRecord(
        id=req_int(obj, "id", what),
        name=name,
        status=normalise_model_status(req_str(obj, "status", what), what),
        training_version=training_version,
        # listed under a dataset or project: that is where it belongs when the answer omits it
        dataset_id=_or(opt_int(obj, "dataset_id", what), dataset_id),
        project_id=_or(opt_int(obj, "project_id", what), project_id),
        description=opt_str(obj, "description", what),
        generation_prefix=opt_str(obj, "generation_prefix", what),
        raw=_frozen(obj),
        training_mode=training_mode,
        active_model_version=_version(obj.get("active_model_version"), what),
        training_parameters=_training_parameters(obj.get("training_parameters"), what),
        checkpoint_steps=_checkpoint_steps(obj.get("checkpoint_steps"), what),
    )


def _schema_text(value: Any, what: str) -> str | None:
    """`visual_schema` is published as a string holding JSON; an answer giving the JSON object
    itself is read as that object's text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    raise RecordError(f"{what} field 'visual_schema' should be a string, got {_json_type(value)}")


def _version(value: Any, what: str) -> str | None:
    """`active_model_version`: a string ("default", "1500"); an integer step is accepted too."""
    if value is None:
        return None
    if _is_int(value):
        return str(value)
    if not isinstance(value, str):
        raise RecordError(
            f"{what} field 'active_model_version' should be a string, got {_json_type(value)}"
        )
    return value


def _training_parameters(value: Any, what: str) -> TrainingParameters | None:
    if value is None:
        return None
    label = f"{what} training_parameters"
    obj = _object(value, label)
    rate = obj.get("learning_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)):
        raise RecordError(
            f"{label} field 'learning_rate' should be a number, got {_json_type(rate)}"
        )
    return TrainingParameters(
        rank=opt_int(obj, "rank", label),
        learning_rate=None if rate is None else float(rate),
        lr_scheduler=opt_str(obj, "lr_scheduler", label),
        total_training_steps=opt_int(obj, "total_training_steps", label),
        checkpoint_interval=opt_int(obj, "checkpoint_interval", label),
        lr_warmup_steps=opt_int(obj, "lr_warmup_steps", label),
    )


def _checkpoint_steps(value: Any, what: str) -> tuple[int, ...] | None:
    """The published OpenAPI types checkpoint steps as strings ("1500"); integers too."""
    if value is None:
        return None
    if isinstance(value, list):
        steps = [_step(item) for item in value]
        if all(step is not None for step in steps):
            return tuple(sorted(step for step in steps if step is not None))
    raise RecordError(f"{what} field 'checkpoint_steps' should be an array of training steps")


def _step(item: Any) -> int | None:
    if _is_int(item):
        return int(item)
    if isinstance(item, str) and item.isascii() and item.isdigit():
        return int(item)
    return None


def parse_dataset(
    data: Any, what: str = "dataset", *, project_id: int | None = None, lenient: bool = False
) -> DatasetRecord:
    """`project_id`: the project the dataset was listed under (checked against the answer).
    `lenient`: an embedded model with an unknown enum value is left out into `skipped_models`
    (the dataset itself is still read strictly)."""
    obj = _object(data, what)
    dataset_id = req_int(obj, "id", what)
    belongs(opt_int(obj, "project_id", what), project_id, "project", what)
    images = models = model_ids = None
    skipped_models: tuple[SkippedRecord, ...] = ()
    if obj.get("images") is not None:
        images = tuple(
            parse_list(
                obj["images"],
                lambda item, label: parse_image(item, label, dataset_id=dataset_id),
                f"{what} image",
            )
        )
    if obj.get("models") is not None:
        embedded = parse_list(
            obj["models"],
            lambda item, label: parse_model(item, label, dataset_id=dataset_id),
            f"{what} model",
            lenient=lenient,
        )
        models, skipped_models = tuple(embedded), embedded.skipped
    if obj.get("model_ids") is not None:
        model_ids = _model_ids(obj["model_ids"], what)
    return DatasetRecord(
        id=dataset_id,
        project_id=req_int(obj, "project_id", what),
        name=req_str(obj, "name", what),
        status=req_enum(obj, "status", DATASET_STATUSES, what),
        caption_prefix=opt_str(obj, "caption_prefix", what),
        captions_update_status=opt_enum(
            obj, "captions_update_status", CAPTIONS_UPDATE_STATUSES, what
        ),
        images_count=opt_int(obj, "images_count", what),
        images=images,
        models=models,
        model_ids=model_ids,
        raw=_frozen(obj),
        visual_schema=_schema_text(obj.get("visual_schema"), what),
        upload_type=opt_enum(obj, "upload_type", UPLOAD_TYPES, what),
        skipped_models=skipped_models,
    )
