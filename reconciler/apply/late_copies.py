"""Creates that may land twice, and how apply makes sure none is left behind.

A create whose answer never came (a timeout, a dropped connection, a 5xx) may still be carried
out by Bria, even after the client has given up on it: a server acting at 33 s on a request the
client abandoned at 30 s. Apply then sends it again (after re-reading and not finding it), and
both copies land. So after such an uncertain create, and once more before the apply reports
success (no earlier than `RetryPolicy.late_copy_grace` after the uncertain attempt was sent),
apply lists the resources of that name again. The rule is the one concurrent applies already
follow: the first copy (lowest id) wins. When it is this apply's, every later copy that is still
empty (a project without datasets, a dataset without images or models, a model never started)
is this apply's own late copy, or another apply's that stops anyway, and is deleted. A later
copy that is not empty is never deleted: the apply fails naming it, so a person decides.

Recognition after a lost answer that finds several copies cannot know which one is its own: it
keeps the first, removes the later empty ones and stops, since another apply may be writing.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reconciler.apply.writes import delete_once, sleep_or_cancel
from reconciler.client import BriaClient
from reconciler.client.retry_policy import RetryPolicy
from reconciler.errors import ReconcilerError
from reconciler.state import ModelStatus
from reconciler.steps import AnyStep, Ref


class LateCopyLeft(ReconcilerError):
    """A second copy of something this apply created exists and is not empty."""

    def __init__(self, message: str, step: AnyStep) -> None:
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class Copy:
    """One resource carrying the created name: its id, and why it is not empty (None: empty)."""

    id: int
    in_use: str | None


@dataclass(frozen=True)
class CreateWatch:
    """An uncertain create to look at once more before apply reports success."""

    step: AnyStep
    ref: Ref
    own_id: int
    since: float  # time.monotonic() when the last unanswered attempt was sent
    copies: Callable[[], list[Copy]]
    delete: Callable[[int], None]
    removal_hint: Callable[[int], str]


def project_copies(client: BriaClient, name: str) -> Callable[[], list[Copy]]:
    def copies() -> list[Copy]:
        found = sorted(p.id for p in client.list_projects() if p.project_name == name)
        if len(found) <= 1:
            return [Copy(i, None) for i in found]
        result = []
        for project_id in found:
            datasets = client.list_project_datasets(project_id)
            result.append(Copy(project_id, f"{len(datasets)} datasets" if datasets else None))
        return result

    return copies


def dataset_copies(client: BriaClient, project_id: int, name: str) -> Callable[[], list[Copy]]:
    def copies() -> list[Copy]:
        listed = client.list_project_datasets(project_id, include_models=True)
        result = []
        for record in sorted((d for d in listed if d.name == name), key=lambda d: d.id):
            uses = []
            if record.images_count:
                uses.append(f"{record.images_count} images")
            models = [m for m in record.models or () if m.status != ModelStatus.DELETED]
            if models:
                uses.append(f"{len(models)} models")
            if record.status != "draft":
                uses.append(record.status)
            result.append(Copy(record.id, ", ".join(uses) or None))
        return result

    return copies


def model_copies(client: BriaClient, project_id: int, name: str) -> Callable[[], list[Copy]]:
    def copies() -> list[Copy]:
        listed = client.list_project_models(project_id)
        return [
            Copy(m.id, None if m.status == ModelStatus.CREATED else f"status {m.status}")
            for m in sorted(listed, key=lambda m: m.id)
            if m.name == name and m.status != ModelStatus.DELETED
        ]

    return copies


def remove_later_copies(
    watch: CreateWatch, found: Sequence[Copy], *, policy: RetryPolicy, cancel: threading.Event
) -> list[int]:
    """Delete the empty copies after `watch.own_id`; LateCopyLeft for one in use."""
    removed = []
    for copy in found:
        if copy.id <= watch.own_id:
            continue
        if copy.in_use is not None:
            raise LateCopyLeft(
                f"{watch.ref} exists twice: id {watch.own_id} is this apply's, and id {copy.id} "
                f"(created late by a request that had timed out, or by another apply) is not "
                f"empty ({copy.in_use}), so it was not removed: check it, then "
                f"{watch.removal_hint(copy.id)}",
                watch.step,
            )
        delete_once(
            f"delete the late copy of {watch.ref} (id {copy.id})",
            functools.partial(watch.delete, copy.id),
            policy=policy,
            cancel=cancel,
        )
        removed.append(copy.id)
    return removed


def settle_late_copies(
    watches: Sequence[CreateWatch], *, policy: RetryPolicy, cancel: threading.Event
) -> None:
    """Before reporting success: wait out `grace` since each uncertain create, then remove the
    empty copies that landed late."""
    for watch in watches:
        left = watch.since + policy.late_copy_grace - time.monotonic()
        if left > 0:
            sleep_or_cancel(left, cancel)
        remove_later_copies(watch, watch.copies(), policy=policy, cancel=cancel)
