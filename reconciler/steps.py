"""The typed steps a plan is made of, the change they carry out, and the one line that names each.

Each step is exactly one API operation (or one wait). The diff builds these very objects (its
ids are readable keys, `<address>:<what>`), `reconciler.plan` only orders and renumbers them
(`s001`..), `plan` renders them and `apply` dispatches each type to one handler with a `match`
over `AnyStep` ending in `assert_never`: a step built with a wrong keyword, or a type without a
handler, is a mypy error.

Resources that do not exist yet when the plan is made are referred to by `Ref` without an id; the
step that creates them (`CreateProject`, `CreateDataset`, `CloneDataset`, `CreateModel`) registers
the id under the same key at apply time. A Ref of a dataset or model also carries its project's
id when that project exists (so a project renamed back by the plan needs no lookup). Images are
referred to by their remote `image_name` (which carries the content digest); a `DeleteImage` of
an existing dataset also names the image id it removes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from reconciler.image_review import ImageReview

Kind = Literal["project", "dataset", "model"]

Action = Literal[
    "create",  # a new resource
    "update",  # in-place change (includes drift repair)
    "clone",  # a completed dataset changes: new draft version cloned from it, edited, completed
    "replace",  # a model is retrained (new model) or a project recreated
    "delete",
    "noop",  # nothing to do; `reason` says why
]


@dataclass(frozen=True)
class Ref:
    """A remote resource, by kind, owning project and remote name; `id` when it exists now."""

    kind: Kind
    project: str  # remote project_name (the manifest's; a project renamed back is found by id)
    remote_name: str  # project_name / dataset name / model name (with ~N version suffix)
    id: int | None = None
    project_id: int | None = None  # of the owning project, when it exists before the plan

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.project, self.remote_name)

    def __str__(self) -> str:
        if self.kind == "project":
            return f"project '{self.project}'"
        return f"{self.kind} '{self.project}/{self.remote_name}'"


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class CreateProject(Step):
    project: Ref
    fields: dict[str, Any]  # project_name, ip_type, ...


@dataclass(frozen=True, kw_only=True)
class UpdateProject(Step):
    project: Ref
    fields: dict[str, Any]  # only what changes


@dataclass(frozen=True, kw_only=True)
class DeleteProject(Step):
    project: Ref


# ---------------------------------------------------------------- datasets


@dataclass(frozen=True, kw_only=True)
class CreateDataset(Step):
    project: Ref
    dataset: Ref  # id None; name to create
    upload_type: str | None  # current generation: basic; None sends none (the reference)


@dataclass(frozen=True, kw_only=True)
class CloneDataset(Step):
    source: Ref
    dataset: Ref  # the new draft version


@dataclass(frozen=True, kw_only=True)
class UpdateDataset(Step):
    """PUT /datasets/{id}: rename, set caption_prefix or (current generation) visual_schema,
    or set status=completed."""

    dataset: Ref
    fields: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RegenerateCaptions(Step):
    """PUT /datasets/{id}/images, then wait until captions_update_status is completed."""

    dataset: Ref


@dataclass(frozen=True, kw_only=True)
class DeleteDataset(Step):
    dataset: Ref


# ---------------------------------------------------------------- images


@dataclass(frozen=True, kw_only=True)
class UploadImage(Step):
    dataset: Ref
    image_name: str  # remote name, carries the digest (reconciler.naming)
    path: str  # local file to read at apply time
    digest: str  # full sha256; apply re-checks the file still matches
    size: int


@dataclass(frozen=True, kw_only=True)
class SetCaption(Step):
    dataset: Ref
    image_name: str
    caption: str


@dataclass(frozen=True, kw_only=True)
class RegenerateCaption(Step):
    """PUT .../images/{image_id} with regenerate_caption=true (back to the automatic caption)."""

    dataset: Ref
    image_name: str


@dataclass(frozen=True, kw_only=True)
class DeleteImage(Step):
    """`image_id` is the copy to remove when the dataset exists now; None in a dataset cloned by
    this plan (ids unknown until it exists): then the highest id of that name still there."""

    dataset: Ref
    image_name: str
    image_id: int | None


# ---------------------------------------------------------------- models


@dataclass(frozen=True, kw_only=True)
class CreateModel(Step):
    """Exactly one of `training_version` (light | max, the reference generation) and
    `training_mode` (fully_automated | expert, the current one) is set."""

    dataset: Ref
    model: Ref  # id None; name to create
    training_version: str | None
    training_mode: str | None
    description: str | None


@dataclass(frozen=True, kw_only=True)
class UpdateModel(Step):
    model: Ref
    fields: dict[str, Any]  # name, description


@dataclass(frozen=True, kw_only=True)
class StartTraining(Step):
    """`parameters`: an expert model's training parameters (current generation), sent as the
    body; None sends none."""

    model: Ref
    parameters: dict[str, Any] | None


@dataclass(frozen=True, kw_only=True)
class StopTraining(Step):
    """POST stop_training, then wait until the model is no longer InProgress/Stopping."""

    model: Ref


@dataclass(frozen=True, kw_only=True)
class DeleteModel(Step):
    model: Ref


#: Every step type. A new step type is added here, gets a handler in `reconciler.apply.handlers`
#: (mypy reports the `match` there as incomplete until it does) and a branch in
#: schemas/plan.schema.json.
AnyStep = (
    CreateProject
    | UpdateProject
    | DeleteProject
    | CreateDataset
    | CloneDataset
    | UpdateDataset
    | RegenerateCaptions
    | DeleteDataset
    | UploadImage
    | SetCaption
    | RegenerateCaption
    | DeleteImage
    | CreateModel
    | UpdateModel
    | StartTraining
    | StopTraining
    | DeleteModel
)

STEP_TYPES: dict[str, type[AnyStep]] = {cls.__name__: cls for cls in get_args(AnyStep)}


@dataclass(frozen=True, kw_only=True)
class Change:
    """One resource's change: what and why (`reason`, one plain sentence; for a noop, why
    nothing needs doing), what it changes, and the steps that carry it out."""

    address: str  # "project.lora", "dataset.lora/lora-v1", "model.lora/lora-light"
    action: Action
    reason: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    drift: bool = False  # the change repairs an edit made outside the manifests
    warnings: tuple[str, ...] = ()
    steps: tuple[AnyStep, ...] = ()  # in plan order once the plan is built
    #: a dataset change's images with their captions before and after (for review)
    images: tuple[ImageReview, ...] = ()

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(step.id for step in self.steps)


# ---------------------------------------------------------------- one line per step


def describe_step(step: AnyStep) -> str:
    """One line for a step, used by the plan's markdown and apply's log:
    `UploadImage `a.<digest>.png` in dataset 'lora/lora-v1' (id 3)`."""
    match step:
        case UploadImage() | SetCaption() | RegenerateCaption() | DeleteImage():
            text = f"{step.op} `{step.image_name}` in {_ref(step.dataset)}"
        case CloneDataset():
            text = f"{step.op} {_ref(step.source)} as {_ref(step.dataset)}"
        case CreateModel():
            text = f"{step.op} {_ref(step.model)} on {_ref(step.dataset)}"
        case UpdateModel() | StartTraining() | StopTraining() | DeleteModel():
            text = f"{step.op} {_ref(step.model)}"
        case CreateDataset():
            text = f"{step.op} {_ref(step.dataset)} in {_ref(step.project)}"
        case UpdateDataset() | RegenerateCaptions() | DeleteDataset():
            text = f"{step.op} {_ref(step.dataset)}"
        case CreateProject() | UpdateProject() | DeleteProject():
            text = f"{step.op} {_ref(step.project)}"
    details: list[str] = []
    if isinstance(step, CreateProject | UpdateProject | UpdateDataset | UpdateModel):
        details += [f"{key}={_value(value)}" for key, value in sorted(step.fields.items())]
    if isinstance(step, CreateModel):
        if step.training_mode is not None:
            details.append(f"training_mode={_value(step.training_mode)}")
        else:
            details.append(f"training_version={_value(step.training_version)}")
        if step.description is not None:
            details.append(f"description={_value(step.description)}")
    if isinstance(step, CreateDataset) and step.upload_type is not None:
        details.append(f"upload_type={_value(step.upload_type)}")
    if isinstance(step, StartTraining) and step.parameters:
        details += [f"{key}={_value(value)}" for key, value in sorted(step.parameters.items())]
    if isinstance(step, SetCaption):
        details.append(f"caption={_value(step.caption)}")
    return text + (": " + ", ".join(details) if details else "")


def _ref(ref: Ref) -> str:
    return f"{ref} (id {ref.id})" if ref.id is not None else f"{ref} (new)"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    if value is None:
        return "(none)"
    return str(value)
