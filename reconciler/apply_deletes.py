"""The delete steps: a 404 means already gone, and a 409 is waited out only while it can pass.

Bria refuses to delete a model in training, or a dataset or project whose model is training
(409). The plan stops training first, but stopping takes a while ("Stopping"), so a delete that
answers 409 is retried while a model concerned is still InProgress or Stopping (bounded by the
poll timeout); a 409 with nothing training behind it is an error at once, not a long wait.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.apply_context import ApplyContext
from reconciler.client import Conflict, ModelRecord
from reconciler.errors import ReconcilerError
from reconciler.recognise import delete_once
from reconciler.steps import DeleteDataset, DeleteImage, DeleteModel, DeleteProject

BUSY_MODEL_STATUSES = frozenset({"InProgress", "Stopping"})


class DeleteRefused(ReconcilerError):
    """Bria keeps refusing a delete (409) and nothing is training that would explain it."""


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
        project_id = ctx.project_id(step.dataset.project)
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
    image_id = ctx.take_image_copy(dataset_id, step.image_name, step.dataset)
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

    def attempt() -> str | None:
        try:
            return delete_once(f"delete {what}", delete, policy=ctx.policy, cancel=ctx.cancel)
        except Conflict as err:
            busy = [m for m in models_concerned() if m.status in BUSY_MODEL_STATUSES]
            if not busy:
                raise DeleteRefused(
                    f"{what} cannot be deleted: {err}; no model of it is training, so waiting "
                    "would not help: check it in Bria's console, then run apply again"
                ) from err
            return None

    note = ctx.poll_until(f"deleting {what} (waiting for training to stop)", attempt, bool)
    return note or "deleted"
