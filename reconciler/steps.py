"""The typed steps a plan is made of: each step is exactly one API operation (or one wait).

`plan` renders these steps and `apply` carries out exactly these steps, each type dispatched to one
function in `apply.py`, so what the reviewer sees cannot drift from what happens.

Resources that do not exist yet when the plan is made are referred to by `Ref` without an id; the
step that creates them (`CreateProject`, `CreateDataset`, `CloneDataset`, `CreateModel`) registers
the id under the same key at apply time. Images are always referred to by their remote
`image_name` (which carries the content digest), never by id: a clone's image ids are unknown
until it exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["project", "dataset", "model"]


@dataclass(frozen=True)
class Ref:
    """A remote resource, by kind, owning project and remote name; `id` when it exists now."""

    kind: Kind
    project: str  # remote project_name
    remote_name: str  # project_name / dataset name / model name (with ~N version suffix)
    id: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.project, self.remote_name)

    def __str__(self) -> str:
        if self.kind == "project":
            return f"project '{self.project}'"
        return f"{self.kind} '{self.project}/{self.remote_name}'"


@dataclass(frozen=True)
class Step:
    """Base: `id` is unique in the plan; `depends_on` lists ids that must finish first."""

    id: str
    address: str  # the change this step belongs to, e.g. "dataset.lora/lora-v1"
    depends_on: tuple[str, ...] = ()

    @property
    def op(self) -> str:
        """The step type, e.g. "UploadImage" (used in JSON and dispatch)."""
        return type(self).__name__


# ---------------------------------------------------------------- projects


@dataclass(frozen=True)
class CreateProject(Step):
    project: Ref = field(default_factory=lambda: Ref("project", "", ""))
    fields: dict[str, Any] = field(default_factory=dict)  # project_name, ip_type, ...


@dataclass(frozen=True)
class UpdateProject(Step):
    project: Ref = field(default_factory=lambda: Ref("project", "", ""))
    fields: dict[str, Any] = field(default_factory=dict)  # only what changes


@dataclass(frozen=True)
class DeleteProject(Step):
    project: Ref = field(default_factory=lambda: Ref("project", "", ""))


# ---------------------------------------------------------------- datasets


@dataclass(frozen=True)
class CreateDataset(Step):
    project: Ref = field(default_factory=lambda: Ref("project", "", ""))
    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))  # id None; name to create


@dataclass(frozen=True)
class CloneDataset(Step):
    source: Ref = field(default_factory=lambda: Ref("dataset", "", ""))
    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))  # the new draft version


@dataclass(frozen=True)
class UpdateDataset(Step):
    """PUT /datasets/{id}: rename, set caption_prefix, or set status=completed."""

    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RegenerateCaptions(Step):
    """PUT /datasets/{id}/images, then wait until captions_update_status is completed."""

    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))


@dataclass(frozen=True)
class DeleteDataset(Step):
    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))


# ---------------------------------------------------------------- images


@dataclass(frozen=True)
class UploadImage(Step):
    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))
    image_name: str = ""  # remote name, carries the digest (reconciler.naming)
    path: str = ""  # local file to read at apply time
    digest: str = ""  # full sha256; apply re-checks the file still matches
    size: int = 0


@dataclass(frozen=True)
class SetCaption(Step):
    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))
    image_name: str = ""
    caption: str = ""


@dataclass(frozen=True)
class RegenerateCaption(Step):
    """PUT .../images/{image_id} with regenerate_caption=true (back to the automatic caption)."""

    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))
    image_name: str = ""


@dataclass(frozen=True)
class DeleteImage(Step):
    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))
    image_name: str = ""


# ---------------------------------------------------------------- models


@dataclass(frozen=True)
class CreateModel(Step):
    dataset: Ref = field(default_factory=lambda: Ref("dataset", "", ""))
    model: Ref = field(default_factory=lambda: Ref("model", "", ""))  # id None; name to create
    training_version: str = "light"
    description: str | None = None


@dataclass(frozen=True)
class UpdateModel(Step):
    model: Ref = field(default_factory=lambda: Ref("model", "", ""))
    fields: dict[str, Any] = field(default_factory=dict)  # name, description


@dataclass(frozen=True)
class StartTraining(Step):
    model: Ref = field(default_factory=lambda: Ref("model", "", ""))


@dataclass(frozen=True)
class StopTraining(Step):
    """POST stop_training, then wait until the model is no longer InProgress/Stopping."""

    model: Ref = field(default_factory=lambda: Ref("model", "", ""))


@dataclass(frozen=True)
class DeleteModel(Step):
    model: Ref = field(default_factory=lambda: Ref("model", "", ""))


STEP_TYPES: dict[str, type[Step]] = {
    cls.__name__: cls
    for cls in (
        CreateProject,
        UpdateProject,
        DeleteProject,
        CreateDataset,
        CloneDataset,
        UpdateDataset,
        RegenerateCaptions,
        DeleteDataset,
        UploadImage,
        SetCaption,
        RegenerateCaption,
        DeleteImage,
        CreateModel,
        UpdateModel,
        StartTraining,
        StopTraining,
        DeleteModel,
    )
}
