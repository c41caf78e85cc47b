"""The shapes both sides of the diff share: the desired state (from manifests) and the live
state (read from Bria). Plain frozen dataclasses, no I/O, so planning is pure and testable.

Remote names are mapped to manifest names by `reconciler.naming`; the live state keeps remote
names verbatim and the planner interprets them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from reconciler.adoption_lock import AdoptedImage

DatasetStatus = Literal["draft", "completed"]
TrainingVersion = Literal["light", "max"]
TrainingMode = Literal["fully_automated", "expert"]
# expert training parameters by their API names, sorted by name (a tuple so states stay hashable)
TrainingParameterItems = tuple[tuple[str, int | float | str | None], ...]

#: The API's limit of images per dataset.
MAX_IMAGES = 200


class ModelStatus(StrEnum):
    """A model's status as Bria reports it (normalised by the client); the one vocabulary every
    module uses, with the named groups below. Members compare equal to their strings."""

    CREATED = "Created"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    DELETED = "Deleted"


#: A model that is, or may still be, training: deleting it (or its dataset or project) needs a
#: stop first, and Bria answers 409 to a delete while it lasts.
TRAINING_STATUSES = frozenset({ModelStatus.IN_PROGRESS, ModelStatus.STOPPING})
#: A model that can no longer become usable: the plan replaces it.
DEAD_STATUSES = frozenset({ModelStatus.FAILED, ModelStatus.STOPPED, ModelStatus.DELETED})
#: A model whose training has ended one way or another (waits end here).
FINAL_STATUSES = DEAD_STATUSES | {ModelStatus.COMPLETED}
#: A training that ended without a usable model (`apply --wait` exits 1).
UNSUCCESSFUL_STATUSES = DEAD_STATUSES
#: Statuses that plan alike: InProgress and Completed are both a good model, so a plan saved
#: while models train does not go stale when they finish.
GOOD_STATUSES = frozenset({ModelStatus.IN_PROGRESS, ModelStatus.COMPLETED})


@dataclass(frozen=True)
class Source:
    """Where a resource was declared, for messages (`file:line:col`)."""

    file: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


# ---------------------------------------------------------------- desired (manifests)


@dataclass(frozen=True)
class DesiredProject:
    name: str  # remote project_name
    ip_type: str
    ip_medium: str
    description: str | None = None  # project_description; None = not managed
    ip_name: str | None = None
    ip_description: str | None = None
    delete: bool = False  # metadata.delete: remove it and everything under it
    allow_replace: bool = False  # metadata.allowReplace: recreate on ip_type/ip_medium change
    source: Source | None = None
    protected: Source | None = None  # where `metadata.protect: true` is written; None = not


@dataclass(frozen=True)
class DesiredImage:
    file_name: str  # name inside the dataset folder, e.g. "lora-01.png"
    path: str  # absolute path, to read the bytes at apply time
    digest: str  # sha256 hex of the file's bytes
    size: int  # bytes
    caption: str | None = None  # None = Bria's automatic caption
    caption_origin: Literal["manifest", "sidecar"] | None = None


@dataclass(frozen=True)
class DesiredDataset:
    project: str
    name: str  # manifest name; remote names are derived by reconciler.naming
    images: tuple[DesiredImage, ...]  # sorted by file_name
    caption_prefix: str | None = None  # None = keep whatever Bria set
    status: DatasetStatus = "completed"
    delete: bool = False
    source: Source | None = None
    adopt: bool = False  # metadata.adopt: remote images are matched to files by name
    adopted: tuple[AdoptedImage, ...] = ()  # what its adoption lock recorded
    lock_file: str | None = None  # the adoption lock beside the manifest, where apply records it
    # current generation (Bria's published OpenAPI): the JSON text of the visual schema to set
    # (None = not managed) and the upload type to create the dataset with (None = Bria's default)
    visual_schema: str | None = None
    upload_type: str | None = None
    visual_schema_file: str | None = None  # spec.visual_schema's file (absolute), when a path
    protected: Source | None = None  # where `metadata.protect: true` is written; None = not


@dataclass(frozen=True)
class SamplePrompt:
    """One `spec.samples` entry of a Model: generated with fixed parameters by every version, so
    `reconciler samples` shows versions side by side. Not part of the plan (generation only)."""

    prompt: str
    seed: int
    name: str | None = None  # a short label; the prompt by default
    num_results: int = 1
    aspect_ratio: str | None = None
    steps_num: int | None = None
    fast: bool | None = None
    vector: bool = False
    source: Source | None = None


@dataclass(frozen=True)
class DesiredModel:
    project: str
    name: str
    dataset: str  # manifest name of a dataset in the same project
    # exactly one of these two (validate checks it): the reference generation's light | max, or
    # the current generation's fully_automated | expert
    training_version: TrainingVersion | None = None
    description: str | None = None
    delete: bool = False
    source: Source | None = None
    samples: tuple[SamplePrompt, ...] = ()
    training_mode: TrainingMode | None = None
    training_parameters: TrainingParameterItems | None = None  # expert: the ones written
    checkpoint: int | None = None  # expert: the active_model_version wanted
    protected: Source | None = None  # where `metadata.protect: true` is written; None = not
    #: metadata.keepSupersededTraining: a superseded version still training keeps training
    keep_superseded_training: bool = False


@dataclass(frozen=True)
class DesiredState:
    projects: tuple[DesiredProject, ...] = ()
    datasets: tuple[DesiredDataset, ...] = ()
    models: tuple[DesiredModel, ...] = ()


# ---------------------------------------------------------------- live (Bria)


@dataclass(frozen=True)
class LiveImage:
    id: int
    image_name: str
    caption: str | None
    caption_source: str | None  # automatic | manual | unknown | pending


@dataclass(frozen=True)
class LiveModel:
    id: int
    name: str
    dataset_id: int | None
    training_version: str  # lower-cased
    status: str  # a ModelStatus value (normalised by the client)
    description: str | None = None
    # current generation (Bria's published OpenAPI); None when the record does not say
    training_mode: str | None = None  # fully_automated | expert; then training_version is ""
    training_parameters: TrainingParameterItems | None = None
    active_model_version: str | None = None  # the checkpoint used for inference
    checkpoint_steps: tuple[int, ...] | None = None
    # ISO 8601 as Bria gives them (None when it does not): for the account's training durations;
    # left out of the fingerprint (reconciler.read_scope), they move as training proceeds
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def training_kind(self) -> str:
        """The training_version, or the current generation's training_mode (durations and
        expected hours are kept per kind)."""
        return self.training_version or self.training_mode or ""


@dataclass(frozen=True)
class LiveDataset:
    id: int
    project_id: int
    name: str
    status: str  # draft | completed
    caption_prefix: str | None
    captions_update_status: str | None = None
    images: tuple[LiveImage, ...] | None = None  # None = not read (not needed by the plan)
    models: tuple[LiveModel, ...] = ()
    # current generation; None when the record does not say
    visual_schema: str | None = None  # the JSON string Bria stores
    upload_type: str | None = None  # basic | advanced
    # whether the record has a caption_prefix field at all (even null): the current
    # generation's records have none, and an absent field is never a difference
    caption_prefix_answered: bool = True


@dataclass(frozen=True)
class LiveProject:
    id: int
    project_name: str
    ip_type: str
    ip_medium: str
    project_description: str | None = None
    ip_name: str | None = None
    ip_description: str | None = None
    datasets: tuple[LiveDataset, ...] | None = None  # None = not read (undeclared project)
    training_version: str | None = None  # current generation's lock: fibo | max | None


@dataclass(frozen=True)
class LiveState:
    projects: tuple[LiveProject, ...] = field(default_factory=tuple)
