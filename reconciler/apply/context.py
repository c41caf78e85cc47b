"""What the steps of one apply share: ids learned so far, image ids, waits, the stop signal.

A plan refers to resources that do not exist yet by `Ref` without an id; the step that creates
them registers the id here under the Ref's key, and later steps resolve it (a Ref's project id,
when the plan knows it, is used as it is). Images are referred to by `image_name`; their ids come
from the plan (a DeleteImage of an existing dataset names its id), from the live state the plan
was made from, from uploads, or from one `list_images` per dataset the first time a name is
unknown (e.g. the images of a fresh clone).
Everything here is shared between worker threads, so it is guarded by one lock (plus one lock per
dataset so a dataset's images are listed once, not once per thread).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.apply.late_copies import CreateWatch
from reconciler.apply.wait import PollSettings, poll_until
from reconciler.apply.writes import RetryPolicy, find_project
from reconciler.client import BriaClient
from reconciler.errors import ReconcilerError
from reconciler.state import LiveState
from reconciler.steps import Ref

T = TypeVar("T")


class UnresolvedReference(ReconcilerError):
    """A step refers to something no earlier step created and the account does not hold."""


class ConcurrentApplyDetected(ReconcilerError):
    """Our own create produced a duplicate: another apply is writing the same account."""


@dataclass
class ApplyContext:
    client: BriaClient
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollSettings = field(default_factory=PollSettings)
    cancel: threading.Event = field(default_factory=threading.Event)
    ids: dict[tuple[str, str, str], int] = field(default_factory=dict)
    image_ids: dict[int, dict[str, int]] = field(default_factory=dict)
    #: dataset id -> image name -> ids of every copy of that name still there (ascending); a
    #: DeleteImage takes the highest, so the copy `image_ids` points at (the lowest) stays last
    image_copies: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    images_listed: set[int] = field(default_factory=set)
    regenerating: set[int] = field(default_factory=set)  # dataset ids with captions in progress
    started_models: list[tuple[Ref, int]] = field(default_factory=list)
    #: uncertain creates to look at once more before reporting success (late_copies)
    late_watches: list[CreateWatch] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _dataset_locks: dict[int, threading.Lock] = field(default_factory=dict)

    @classmethod
    def from_live(
        cls,
        client: BriaClient,
        live: LiveState | None,
        *,
        policy: RetryPolicy,
        poll: PollSettings,
        cancel: threading.Event,
    ) -> ApplyContext:
        ctx = cls(client, policy=policy, poll=poll, cancel=cancel)
        if live is not None:
            ctx.learn_live(live)
        return ctx

    def learn_live(self, live: LiveState) -> None:
        """Seed ids from the live state the plan was made from (saves lookups)."""
        for project in live.projects:
            self.ids.setdefault(("project", project.project_name, project.project_name), project.id)
            for dataset in project.datasets or ():
                self.ids.setdefault(("dataset", project.project_name, dataset.name), dataset.id)
                if dataset.captions_update_status == "in_progress":
                    self.regenerating.add(dataset.id)
                if dataset.images is not None:
                    names = self.image_ids.setdefault(dataset.id, {})
                    copies = self.image_copies.setdefault(dataset.id, {})
                    for image in sorted(dataset.images, key=lambda i: i.id):
                        names.setdefault(image.image_name, image.id)
                        copies.setdefault(image.image_name, []).append(image.id)
                    self.images_listed.add(dataset.id)
                for model in dataset.models:
                    self.ids.setdefault(("model", project.project_name, model.name), model.id)

    # ------------------------------------------------------------ ids

    def register(self, ref: Ref, resource_id: int) -> None:
        with self._lock:
            self.ids[ref.key] = resource_id

    def resolve(self, ref: Ref) -> int:
        if ref.id is not None:
            return ref.id
        with self._lock:
            found = self.ids.get(ref.key)
        if found is not None:
            return found
        if ref.kind == "project":
            record = find_project(self.client, ref.project)
            if record is not None:
                self.register(ref, record.id)
                return record.id
        raise UnresolvedReference(
            f"{ref} does not exist and no earlier step created it; run plan again"
        )

    def project_id(self, ref: Ref) -> int:
        """The id of the project `ref` (a dataset or model) belongs to."""
        if ref.project_id is not None:
            return ref.project_id
        return self.resolve(Ref("project", ref.project, ref.project))

    def watch_late_copy(self, watch: CreateWatch) -> None:
        with self._lock:
            self.late_watches.append(watch)

    def record_started(self, model: Ref, model_id: int) -> None:
        with self._lock:
            self.started_models.append((model, model_id))

    # ------------------------------------------------------------ images

    def dataset_lock(self, dataset_id: int) -> threading.Lock:
        with self._lock:
            return self._dataset_locks.setdefault(dataset_id, threading.Lock())

    def remember_image(self, dataset_id: int, image_name: str, image_id: int) -> None:
        with self._lock:
            self.image_ids.setdefault(dataset_id, {})[image_name] = image_id

    def take_image_copy(
        self, dataset_id: int, image_name: str, dataset: Ref, planned: int | None
    ) -> int:
        """The id of the copy of `image_name` a DeleteImage removes: the one the plan names, or
        (in a clone made by this plan, whose ids the plan could not know) the highest id not
        taken yet, so that two deletes of a repeated name remove two copies, and a copy kept
        (the lowest id, which captions address) goes last."""
        fallback = (
            planned if planned is not None else self.image_id(dataset_id, image_name, dataset)
        )
        with self._lock:
            copies = self.image_copies.get(dataset_id, {}).get(image_name)
            if not copies:
                return fallback
            taken = copies.pop() if planned is None or planned not in copies else planned
            if taken == planned:
                copies.remove(planned)
            names = self.image_ids.setdefault(dataset_id, {})
            if copies:
                names[image_name] = copies[0]
            else:
                names.pop(image_name, None)
            return taken

    def image_id(self, dataset_id: int, image_name: str, dataset: Ref) -> int:
        """The id of `image_name` in the dataset; lists the dataset's images once if needed."""
        with self._lock:
            known = self.image_ids.get(dataset_id, {}).get(image_name)
        if known is not None:
            return known
        with self.dataset_lock(dataset_id):
            with self._lock:
                known = self.image_ids.get(dataset_id, {}).get(image_name)
                listed = dataset_id in self.images_listed
            if known is None and not listed:
                records = sorted(self.client.list_images(dataset_id), key=lambda i: -i.id)
                with self._lock:
                    names = self.image_ids.setdefault(dataset_id, {})
                    copies: dict[str, list[int]] = {}
                    for record in records:  # lowest id wins when a name repeats
                        names[record.image_name or ""] = record.id
                        copies.setdefault(record.image_name or "", []).insert(0, record.id)
                    self.image_copies[dataset_id] = copies
                    self.images_listed.add(dataset_id)
                    known = names.get(image_name)
        if known is None:
            raise UnresolvedReference(
                f"image '{image_name}' is not in {dataset}; it changed since the plan was made: "
                "run plan again"
            )
        return known

    # ------------------------------------------------------------ waits

    def poll_until(self, what: str, read: Callable[[], T], done: Callable[[T], bool]) -> T:
        """Call `read` with growing pauses until `done` (reconciler.apply.wait.poll_until)."""
        return poll_until(self.poll, self.cancel, what, read, done)

    def settle_captions(self, dataset_id: int, dataset: Ref) -> None:
        """Wait for a caption regeneration left running (by the console or a crashed apply)."""
        with self._lock:
            if dataset_id not in self.regenerating:
                return
        with self.dataset_lock(dataset_id):
            with self._lock:
                if dataset_id not in self.regenerating:
                    return
            self.poll_until(
                f"caption regeneration of {dataset}",
                lambda: self.client.get_dataset(dataset_id),
                lambda record: record.captions_update_status != "in_progress",
            )
            with self._lock:
                self.regenerating.discard(dataset_id)
