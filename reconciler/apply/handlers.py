"""One function per step type: how each planned step is carried out against the API, and the
`match` that dispatches each step to its function (`carry_out`).

Each function takes the shared `ApplyContext` and its step, performs exactly the step's API
operation (plus the reads needed to resolve ids, to recognise its own work after a lost answer,
and to wait where the step says so) and returns a short note for the log. Creates check afterwards
that they did not produce a duplicate name, which only another apply running at the same time can
cause; completing a dataset first checks that no image name repeats in it.

Deletes: a 404 means already gone, and a 409 is waited out only while it can pass. Bria refuses
to delete a model in training, or a dataset or project whose model is training (409). The plan
stops training first, but stopping takes a while ("Stopping"), so a delete that answers 409 is
retried while a model concerned is still InProgress or Stopping (bounded by the poll timeout); a
409 with nothing training behind it is an error at once, not a long wait.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, assert_never

from reconciler.apply.context import ApplyContext, ConcurrentApplyDetected
from reconciler.apply.late_copies import (
    Copy,
    CreateWatch,
    dataset_copies,
    model_copies,
    project_copies,
    remove_later_copies,
)
from reconciler.apply.writes import (
    delete_once,
    find_image,
    find_started_training,
    write_once,
)
from reconciler.client import Conflict, DatasetRecord, ModelRecord
from reconciler.errors import ReconcilerError
from reconciler.manifest.digests import forget_cached_digest
from reconciler.state import FINAL_STATUSES, TRAINING_STATUSES, ModelStatus
from reconciler.steps import (
    AnyStep,
    CloneDataset,
    CreateDataset,
    CreateModel,
    CreateProject,
    DeleteDataset,
    DeleteImage,
    DeleteModel,
    DeleteProject,
    Ref,
    RegenerateCaption,
    RegenerateCaptions,
    SetCaption,
    StartTraining,
    StopTraining,
    UpdateDataset,
    UpdateModel,
    UpdateProject,
    UploadImage,
)


class ImageChanged(ReconcilerError):
    """An image file differs from the one the plan was made from (or is gone)."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class DuplicateImages(ReconcilerError):
    """A dataset about to be completed holds the same image name twice."""


class DeleteRefused(ReconcilerError):
    """Bria keeps refusing a delete (409) and nothing is training that would explain it."""


def _keep_first(
    ctx: ApplyContext, ref: Ref, own_id: int, same_ids: list[int], delete: Callable[[], None]
) -> None:
    """After a create: if another apply created the same name too, the first (lowest id) wins.

    The later creator always sees both (ids grow), so it removes its own, still empty, copy and
    stops; the first continues. The account never keeps a duplicate.
    """
    if len(same_ids) <= 1 or own_id == min(same_ids):
        return
    ids = ", ".join(map(str, sorted(same_ids)))
    try:
        delete_once(f"delete duplicate {ref}", delete, policy=ctx.policy, cancel=ctx.cancel)
    except ReconcilerError as err:
        raise ConcurrentApplyDetected(
            f"{ref} was created by another apply at the same time (ids {ids}), and removing this "
            f"apply's copy (id {own_id}) failed ({err}); delete it by hand, then run apply again"
        ) from err
    raise ConcurrentApplyDetected(
        f"{ref} was created by another apply at the same time (ids {ids}): this apply removed "
        f"its own copy (id {own_id}) and stops; let the other apply finish, then run apply again"
    )


# ---------------------------------------------------------------- projects


class _Record(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=_Record)


class _Uncertain:
    """What a create's attempts revealed: when the last attempt that got no answer was sent
    (its result may land later; with every create slow, each one may), and how many copies
    recognition found (several: another apply may be writing too)."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.recognised_copies = 0

    def heard(self, sent_at: float) -> None:
        self.since = sent_at if self.since is None else max(self.since, sent_at)

    def first(self, found: list[R]) -> R | None:
        """The first (lowest id) of the copies found, remembering how many there were."""
        found = sorted(found, key=lambda r: r.id)
        self.recognised_copies = max(self.recognised_copies, len(found))
        return found[0] if found else None


def _create_once(
    ctx: ApplyContext,
    step: AnyStep,
    ref: Ref,
    write: Callable[[], R],
    find_all: Callable[[], list[R]],
    copies: Callable[[], list[Copy]],
    delete: Callable[[int], None],
    route: str,
    *,
    after: Callable[[R], None] | None = None,
) -> str:
    """Create `ref` (recognising a create whose answer was lost), register its id, then make
    sure no second copy stays: another apply's (`_keep_first`), or its own late one
    (reconciler.apply.late_copies). `after` runs on the record before those checks."""
    uncertain = _Uncertain()
    record = write_once(
        f"create {ref}",
        write,
        lambda: uncertain.first(find_all()),
        policy=ctx.policy,
        cancel=ctx.cancel,
        on_uncertain=uncertain.heard,
    )
    ctx.register(ref, record.id)
    if after is not None:
        after(record)
    own_id = record.id
    found = copies()
    ids = [c.id for c in found]
    if found and own_id not in ids:
        raise ConcurrentApplyDetected(
            f"{ref} (id {own_id}) was removed right after this apply created it (another apply "
            "creating the same name at the same time keeps the first copy): this apply stops; "
            "let the other apply finish, then run apply again"
        )
    _keep_first(ctx, ref, own_id, ids, lambda: delete(own_id))
    since = uncertain.since if uncertain.since is not None else time.monotonic()
    hint = functools.partial(_removal_hint, route)
    watch = CreateWatch(step, ref, own_id, since, copies, delete, hint)
    if uncertain.recognised_copies > 1:
        removed = remove_later_copies(watch, found, policy=ctx.policy, cancel=ctx.cancel)
        listed = ", ".join(map(str, removed)) or "none left"
        raise ConcurrentApplyDetected(
            f"{ref}: its create's answer was lost and {uncertain.recognised_copies} copies were "
            f"found; this apply kept the first (id {own_id}), removed the later empty ones "
            f"(ids: {listed}) and stops, since another apply may be writing: let it finish, "
            "then run apply again"
        )
    if uncertain.since is not None:
        remove_later_copies(watch, found, policy=ctx.policy, cancel=ctx.cancel)
        ctx.watch_late_copy(watch)  # looked at once more before reporting success
    return f"id {own_id}"


def _removal_hint(route: str, resource_id: int) -> str:
    return f"delete it in Bria's console (DELETE /tailored-gen/{route}/{resource_id})"


def create_project(ctx: ApplyContext, step: CreateProject) -> str:
    client, name = ctx.client, step.project.remote_name or step.project.project
    fields = dict(step.fields)
    return _create_once(
        ctx,
        step,
        step.project,
        lambda: client.create_project(**fields),
        lambda: [p for p in client.list_projects() if p.project_name == name],
        project_copies(client, name),
        client.delete_project,
        "projects",
    )


def update_project(ctx: ApplyContext, step: UpdateProject) -> str:
    project_id = ctx.resolve(step.project)
    ctx.client.update_project(project_id, **step.fields)
    return ""


# ---------------------------------------------------------------- datasets


def create_dataset(ctx: ApplyContext, step: CreateDataset) -> str:
    client, name = ctx.client, step.dataset.remote_name
    project_id = ctx.resolve(step.project)
    return _create_once(
        ctx,
        step,
        step.dataset,
        lambda: client.create_dataset(
            project_id=project_id, name=name, upload_type=step.upload_type
        ),
        lambda: [d for d in client.list_project_datasets(project_id) if d.name == name],
        dataset_copies(client, project_id, name),
        client.delete_dataset,
        "datasets",
    )


def clone_dataset(ctx: ApplyContext, step: CloneDataset) -> str:
    client, name = ctx.client, step.dataset.remote_name
    source_id = ctx.resolve(step.source)
    project_id = ctx.project_id(step.dataset)

    def rename(record: DatasetRecord) -> None:
        if record.name != name:  # an API that ignored the requested name ("Copy of ...")
            client.update_dataset(record.id, name=name)

    return _create_once(
        ctx,
        step,
        step.dataset,
        lambda: client.clone_dataset(source_id, name=name),
        lambda: [d for d in client.list_project_datasets(project_id) if d.name == name],
        dataset_copies(client, project_id, name),
        client.delete_dataset,
        "datasets",
        after=rename,
    )


def update_dataset(ctx: ApplyContext, step: UpdateDataset) -> str:
    dataset_id = ctx.resolve(step.dataset)
    ctx.settle_captions(dataset_id, step.dataset)
    fields: dict[str, Any] = dict(step.fields)
    if fields.get("status") == "completed":
        names = [i.image_name for i in ctx.client.list_images(dataset_id) if i.image_name]
        repeated = sorted(name for name, count in Counter(names).items() if count > 1)
        if repeated:
            raise DuplicateImages(
                f"refusing to complete {step.dataset}: image '{repeated[0]}' appears "
                f"{Counter(names)[repeated[0]]} times (another apply writing at the same time?); "
                "let it finish and run apply again"
            )
    try:
        ctx.client.update_dataset(dataset_id, **fields)
    except Conflict:
        # a retried PUT whose first answer was lost: the dataset may be completed already
        if fields != {"status": "completed"}:
            raise
        if ctx.client.get_dataset(dataset_id).status != "completed":
            raise
    return ""


def regenerate_captions(ctx: ApplyContext, step: RegenerateCaptions) -> str:
    dataset_id = ctx.resolve(step.dataset)
    ctx.settle_captions(dataset_id, step.dataset)
    ctx.client.regenerate_captions(dataset_id)
    idle_reads = 0

    def finished(record: DatasetRecord) -> bool:
        # "completed" is the documented end; a status that stays neither in_progress nor
        # completed for a few reads means nothing is running (an API that skips the states)
        nonlocal idle_reads
        status = record.captions_update_status
        idle_reads = idle_reads + 1 if status not in ("in_progress", "completed") else 0
        return status == "completed" or idle_reads >= 3

    ctx.poll_until(
        f"caption regeneration of {step.dataset}",
        lambda: ctx.client.get_dataset(dataset_id),
        finished,
    )
    return "captions regenerated"


# ---------------------------------------------------------------- images


def upload_image(ctx: ApplyContext, step: UploadImage) -> str:
    client = ctx.client
    content = _read_checked(step)
    dataset_id = ctx.resolve(step.dataset)
    ctx.settle_captions(dataset_id, step.dataset)
    record = write_once(
        f"upload '{step.image_name}' to {step.dataset}",
        lambda: client.upload_image(dataset_id, file=content, image_name=step.image_name),
        lambda: find_image(client, dataset_id, step.image_name),
        policy=ctx.policy,
        cancel=ctx.cancel,
    )
    ctx.remember_image(dataset_id, step.image_name, record.id)
    return f"id {record.id}"


def _read_checked(step: UploadImage) -> bytes:
    try:
        content = Path(step.path).read_bytes()
    except OSError as err:
        raise ImageChanged(
            f"image file '{step.path}' cannot be read ({err.strerror or err}); "
            "restore it or run plan again",
            step.path,
        ) from None
    if hashlib.sha256(content).hexdigest() != step.digest or (
        step.size and len(content) != step.size
    ):
        forget_cached_digest(step.path)  # so the next plan reads the file anew
        raise ImageChanged(
            f"image file '{step.path}' changed since the plan was made (its content no longer "
            f"matches digest {step.digest[:16]}); refusing to upload it. Its cached digest is "
            "dropped, so the next plan reads the file anew: run apply again (with a saved "
            "plan: run plan --out again first)",
            step.path,
        )
    return content


def set_caption(ctx: ApplyContext, step: SetCaption) -> str:
    dataset_id = ctx.resolve(step.dataset)
    ctx.settle_captions(dataset_id, step.dataset)
    image_id = ctx.image_id(dataset_id, step.image_name, step.dataset)
    ctx.client.update_image_caption(dataset_id, image_id, caption=step.caption)
    return "caption set"


def regenerate_caption(ctx: ApplyContext, step: RegenerateCaption) -> str:
    dataset_id = ctx.resolve(step.dataset)
    ctx.settle_captions(dataset_id, step.dataset)
    image_id = ctx.image_id(dataset_id, step.image_name, step.dataset)
    ctx.client.update_image_caption(dataset_id, image_id, regenerate_caption=True)
    return "automatic caption restored"


# ---------------------------------------------------------------- models


def create_model(ctx: ApplyContext, step: CreateModel) -> str:
    client, name = ctx.client, step.model.remote_name
    dataset_id = ctx.resolve(step.dataset)
    project_id = ctx.project_id(step.model)
    return _create_once(
        ctx,
        step,
        step.model,
        lambda: client.create_model(
            name=name,
            dataset_id=dataset_id,
            training_version=step.training_version,
            training_mode=step.training_mode,
            description=step.description,
        ),
        lambda: [
            m
            for m in client.list_project_models(project_id)
            if m.name == name and m.status != ModelStatus.DELETED
        ],
        model_copies(client, project_id, name),
        client.delete_model,
        "models",
    )


def update_model(ctx: ApplyContext, step: UpdateModel) -> str:
    model_id = ctx.resolve(step.model)
    ctx.client.update_model(model_id, **step.fields)
    return ""


def start_training(ctx: ApplyContext, step: StartTraining) -> str:
    client = ctx.client
    model_id = ctx.resolve(step.model)

    def start() -> ModelRecord:
        try:
            return client.start_training(model_id, step.parameters)
        except Conflict:
            # 409: already started (perhaps by our own request whose answer was lost)
            model = client.get_model(model_id)
            if model.status == ModelStatus.CREATED:
                raise
            return model

    record = write_once(
        f"start training {step.model}",
        start,
        lambda: find_started_training(client, model_id),
        policy=ctx.policy,
        cancel=ctx.cancel,
    )
    ctx.record_started(step.model, model_id)
    return f"status {record.status}"


def stop_training(ctx: ApplyContext, step: StopTraining) -> str:
    client = ctx.client
    model_id = ctx.resolve(step.model)

    def stop() -> ModelRecord:
        try:
            return client.stop_training(model_id)
        except Conflict:
            return client.get_model(model_id)  # not training any more: the wait below decides

    def recognise_stop() -> ModelRecord | None:
        model = client.get_model(model_id)
        return None if model.status == ModelStatus.IN_PROGRESS else model

    write_once(
        f"stop training {step.model}",
        stop,
        recognise_stop,
        policy=ctx.policy,
        cancel=ctx.cancel,
    )
    final = ctx.poll_until(
        f"stopping the training of {step.model}",
        lambda: client.get_model(model_id),
        lambda model: model.status in FINAL_STATUSES,
    )
    return f"status {final.status}"


# ---------------------------------------------------------------- deletes


def delete_project(ctx: ApplyContext, step: DeleteProject) -> str:
    project_id = ctx.resolve(step.project)
    return _delete_when_free(
        ctx,
        str(step.project),
        lambda: ctx.client.delete_project(project_id),
        lambda: ctx.client.list_project_models(project_id),
    )


def delete_dataset(ctx: ApplyContext, step: DeleteDataset) -> str:
    dataset_id = ctx.resolve(step.dataset)

    def models_on_it() -> list[ModelRecord]:
        project_id = ctx.project_id(step.dataset)
        models = ctx.client.list_project_models(project_id)
        return [m for m in models if m.dataset_id == dataset_id]

    return _delete_when_free(
        ctx, str(step.dataset), lambda: ctx.client.delete_dataset(dataset_id), models_on_it
    )


def delete_model(ctx: ApplyContext, step: DeleteModel) -> str:
    model_id = ctx.resolve(step.model)
    return _delete_when_free(
        ctx,
        str(step.model),
        lambda: ctx.client.delete_model(model_id),
        lambda: [ctx.client.get_model(model_id)],
    )


def delete_image(ctx: ApplyContext, step: DeleteImage) -> str:
    dataset_id = ctx.resolve(step.dataset)
    ctx.settle_captions(dataset_id, step.dataset)
    image_id = ctx.take_image_copy(dataset_id, step.image_name, step.dataset, step.image_id)
    return delete_once(
        f"delete image '{step.image_name}' from {step.dataset}",
        lambda: ctx.client.delete_image(dataset_id, image_id),
        policy=ctx.policy,
        cancel=ctx.cancel,
    )


def _delete_when_free(
    ctx: ApplyContext,
    what: str,
    delete: Callable[[], None],
    models_concerned: Callable[[], list[ModelRecord]],
) -> str:
    """Delete; on 409 wait while a model concerned is still training or stopping."""
    idle_refusals = 0

    def attempt() -> str | None:
        nonlocal idle_refusals
        try:
            return delete_once(f"delete {what}", delete, policy=ctx.policy, cancel=ctx.cancel)
        except Conflict as err:
            busy = [m for m in models_concerned() if m.status in TRAINING_STATUSES]
            # A model may finish stopping between the 409 and the read: one more try first.
            idle_refusals = 0 if busy else idle_refusals + 1
            if idle_refusals >= 2:
                raise DeleteRefused(
                    f"{what} cannot be deleted: {err}; no model of it is training, so waiting "
                    "would not help: check it in Bria's console, then run apply again"
                ) from err
            return None

    note = ctx.poll_until(f"deleting {what} (waiting for training to stop)", attempt, bool)
    return note or "deleted"


# ---------------------------------------------------------------- dispatch


def carry_out(ctx: ApplyContext, step: AnyStep) -> str:
    """Run `step` with its handler; mypy checks that every step type has exactly one."""
    match step:
        case CreateProject():
            return create_project(ctx, step)
        case UpdateProject():
            return update_project(ctx, step)
        case DeleteProject():
            return delete_project(ctx, step)
        case CreateDataset():
            return create_dataset(ctx, step)
        case CloneDataset():
            return clone_dataset(ctx, step)
        case UpdateDataset():
            return update_dataset(ctx, step)
        case RegenerateCaptions():
            return regenerate_captions(ctx, step)
        case DeleteDataset():
            return delete_dataset(ctx, step)
        case UploadImage():
            return upload_image(ctx, step)
        case SetCaption():
            return set_caption(ctx, step)
        case RegenerateCaption():
            return regenerate_caption(ctx, step)
        case DeleteImage():
            return delete_image(ctx, step)
        case CreateModel():
            return create_model(ctx, step)
        case UpdateModel():
            return update_model(ctx, step)
        case StartTraining():
            return start_training(ctx, step)
        case StopTraining():
            return stop_training(ctx, step)
        case DeleteModel():
            return delete_model(ctx, step)
        case _:
            assert_never(step)
