"""A strict, pure stand-in for `apply` over a LiveState, for convergence properties of the planner.

It carries out a plan's steps with the API's rules that matter for ordering (nothing changes in a
completed dataset, training starts only on a completed dataset, nothing is deleted while a model
trains, resources must exist before they are used) and raises `IllegalStep` when a step breaks
one. Steps may be run in any order that honours `depends_on` (as a parallel apply would), so a
missing dependency shows up as an illegal step or as a second plan that is not empty.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.plan import Plan
from reconciler.state import LiveDataset, LiveImage, LiveModel, LiveProject, LiveState
from reconciler.steps import Ref, Step

DEFAULT_PREFIX = "Default prefix,"


class IllegalStep(AssertionError):
    pass


def auto_caption(prefix: str | None, image_name: str) -> str:
    return f"{prefix or ''} auto caption of {image_name}"


@dataclass
class _Dataset:
    live: LiveDataset
    images: list[LiveImage]
    models: list[LiveModel] = field(default_factory=list)


@dataclass
class _Project:
    live: LiveProject
    datasets: list[_Dataset] = field(default_factory=list)


class Account:
    def __init__(self, state: LiveState) -> None:
        self.projects = [
            _Project(
                p,
                [_Dataset(d, list(d.images or ()), list(d.models)) for d in p.datasets or ()],
            )
            for p in state.projects
        ]
        ids = [p.live.id for p in self.projects]
        ids += [d.live.id for p in self.projects for d in p.datasets]
        ids += [i.id for p in self.projects for d in p.datasets for i in d.images]
        ids += [m.id for p in self.projects for d in p.datasets for m in d.models]
        self._next = max(ids, default=0) + 1000
        self._created: dict[tuple[str, str, str], int] = {}

    def new_id(self) -> int:
        self._next += 1
        return self._next

    # ------------------------------------------------------------ lookups

    def _id(self, ref: Ref) -> int:
        if ref.id is not None:
            return ref.id
        if ref.key not in self._created:
            raise IllegalStep(f"{ref} is used before it was created")
        return self._created[ref.key]

    def project(self, ref: Ref) -> _Project:
        wanted = self._id(ref)
        for project in self.projects:
            if project.live.id == wanted:
                return project
        raise IllegalStep(f"{ref} does not exist")

    def dataset(self, ref: Ref) -> tuple[_Project, _Dataset]:
        wanted = self._id(ref)
        for project in self.projects:
            for dataset in project.datasets:
                if dataset.live.id == wanted:
                    return project, dataset
        raise IllegalStep(f"{ref} does not exist")

    def model(self, ref: Ref) -> tuple[_Dataset, int]:
        wanted = self._id(ref)
        for project in self.projects:
            for dataset in project.datasets:
                for i, model in enumerate(dataset.models):
                    if model.id == wanted:
                        return dataset, i
        raise IllegalStep(f"{ref} does not exist")

    def draft(self, ref: Ref) -> _Dataset:
        _, dataset = self.dataset(ref)
        if dataset.live.status != "draft":
            raise IllegalStep(f"{ref} is completed and cannot change")
        return dataset

    def image(self, dataset: _Dataset, name: str) -> int:
        for i, image in enumerate(dataset.images):
            if image.image_name == name:
                return i
        raise IllegalStep(f"image {name} does not exist in {dataset.live.name}")

    def state(self) -> LiveState:
        return LiveState(
            tuple(
                replace(
                    p.live,
                    datasets=tuple(
                        replace(d.live, images=tuple(d.images), models=tuple(d.models))
                        for d in p.datasets
                    ),
                )
                for p in self.projects
            )
        )

    # ------------------------------------------------------------ steps

    def run(self, step: Step) -> None:
        getattr(self, f"do_{step.op}")(**{k: v for k, v in vars(step).items()})

    def do_CreateProject(self, project: Ref, fields: dict[str, Any], **_: Any) -> None:
        new = LiveProject(id=self.new_id(), datasets=(), **fields)
        self._created[project.key] = new.id
        self.projects.append(_Project(new))

    def do_UpdateProject(self, project: Ref, fields: dict[str, Any], **_: Any) -> None:
        target = self.project(project)
        target.live = replace(target.live, **fields)

    def do_DeleteProject(self, project: Ref, **_: Any) -> None:
        target = self.project(project)
        if any(m.status == "InProgress" for d in target.datasets for m in d.models):
            raise IllegalStep(f"{project} has a model in training")
        self.projects.remove(target)

    def do_CreateDataset(self, project: Ref, dataset: Ref, **_: Any) -> None:
        owner = self.project(project)
        new = LiveDataset(
            self.new_id(), owner.live.id, dataset.remote_name, "draft", DEFAULT_PREFIX
        )
        self._created[dataset.key] = new.id
        owner.datasets.append(_Dataset(new, []))

    def do_CloneDataset(self, source: Ref, dataset: Ref, **_: Any) -> None:
        owner, original = self.dataset(source)
        new = replace(original.live, id=self.new_id(), name=dataset.remote_name, status="draft")
        self._created[dataset.key] = new.id
        images = [replace(image, id=self.new_id()) for image in original.images]
        owner.datasets.append(_Dataset(new, images))

    def do_UpdateDataset(self, dataset: Ref, fields: dict[str, Any], **_: Any) -> None:
        _, target = self.dataset(dataset)
        if target.live.status == "completed" and set(fields) - {"name"}:
            raise IllegalStep(f"{dataset} is completed and cannot change {sorted(fields)}")
        if fields.get("status") == "completed" and not target.images:
            raise IllegalStep(f"{dataset} has no image and cannot be completed")
        target.live = replace(target.live, **fields)

    def do_RegenerateCaptions(self, dataset: Ref, **_: Any) -> None:
        target = self.draft(dataset)
        prefix = target.live.caption_prefix
        target.images = [
            replace(i, caption=auto_caption(prefix, i.image_name), caption_source="automatic")
            for i in target.images
        ]

    def do_DeleteDataset(self, dataset: Ref, **_: Any) -> None:
        owner, target = self.dataset(dataset)
        if any(m.status == "InProgress" for m in target.models):
            raise IllegalStep(f"{dataset} is used by a model in training")
        owner.datasets.remove(target)

    def do_UploadImage(self, dataset: Ref, image_name: str, **_: Any) -> None:
        target = self.draft(dataset)
        if len(target.images) >= 200:
            raise IllegalStep(f"{dataset} already holds 200 images")
        caption = auto_caption(target.live.caption_prefix, image_name)
        target.images.append(LiveImage(self.new_id(), image_name, caption, "automatic"))

    def do_SetCaption(self, dataset: Ref, image_name: str, caption: str, **_: Any) -> None:
        target = self.draft(dataset)
        i = self.image(target, image_name)
        target.images[i] = replace(target.images[i], caption=caption, caption_source="manual")

    def do_RegenerateCaption(self, dataset: Ref, image_name: str, **_: Any) -> None:
        target = self.draft(dataset)
        i = self.image(target, image_name)
        caption = auto_caption(target.live.caption_prefix, image_name)
        target.images[i] = replace(target.images[i], caption=caption, caption_source="automatic")

    def do_DeleteImage(self, dataset: Ref, image_name: str, **_: Any) -> None:
        target = self.draft(dataset)
        del target.images[self.image(target, image_name)]

    def do_CreateModel(
        self,
        dataset: Ref,
        model: Ref,
        training_version: str | None,
        description: str | None,
        training_mode: str | None = None,
        **_: Any,
    ) -> None:
        _, target = self.dataset(dataset)
        new = LiveModel(
            self.new_id(),
            model.remote_name,
            target.live.id,
            training_version or "",
            "Created",
            description,
            training_mode=training_mode,
        )
        self._created[model.key] = new.id
        target.models.append(new)

    def do_UpdateModel(self, model: Ref, fields: dict[str, Any], **_: Any) -> None:
        dataset, i = self.model(model)
        dataset.models[i] = replace(dataset.models[i], **fields)

    def do_StartTraining(self, model: Ref, **_: Any) -> None:
        dataset, i = self.model(model)
        if dataset.live.status != "completed":
            raise IllegalStep(f"{model}: its dataset must be completed to start training")
        if dataset.models[i].status != "Created":
            raise IllegalStep(f"{model}: training already started")
        dataset.models[i] = replace(dataset.models[i], status="InProgress")

    def do_StopTraining(self, model: Ref, **_: Any) -> None:
        dataset, i = self.model(model)
        if dataset.models[i].status not in ("InProgress", "Stopping"):
            raise IllegalStep(f"{model}: not in training")
        dataset.models[i] = replace(dataset.models[i], status="Stopped")

    def do_DeleteModel(self, model: Ref, **_: Any) -> None:
        dataset, i = self.model(model)
        if dataset.models[i].status == "InProgress":
            raise IllegalStep(f"{model}: cannot delete a model in training")
        dataset.models[i] = replace(dataset.models[i], status="Deleted")


def random_order(plan: Plan, rng: random.Random) -> list[Step]:
    """Any order a parallel apply could pick: each step after its dependencies."""
    done: set[str] = set()
    pending = list(plan.steps)
    order: list[Step] = []
    while pending:
        ready = [s for s in pending if set(s.depends_on) <= done]
        step = rng.choice(ready)
        pending.remove(step)
        done.add(step.id)
        order.append(step)
    return order


def simulate(state: LiveState, plan: Plan, rng: random.Random | None = None) -> LiveState:
    account = Account(state)
    steps = random_order(plan, rng) if rng else list(plan.steps)
    for step in steps:
        account.run(step)
    return account.state()
