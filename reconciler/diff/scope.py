"""What every change of one declared project reads while the project is diffed, and the model
removal every deletion path shares.

A `ProjectScope` is immutable: the live index of the project, the step its children wait for (its
creation, when created or recreated in this plan), the declared datasets and models, and whether
the plan prunes. The plan-wide `DiffResult` and `AddressBook` it carries are only written to
(refusals and warnings, unique addresses); what one phase decides reaches the next as a returned
value (reconciler.diff.walk), never through the scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.diff.changes import DiffResult, StepList, model_key
from reconciler.diff.live_index import AddressBook, ProjectIndex
from reconciler.naming import parse_versioned_name
from reconciler.state import DesiredDataset, DesiredModel, LiveModel, ModelStatus
from reconciler.steps import Change, DeleteModel, Ref, StopTraining
from reconciler.training_hours import HoursRange
from reconciler.wording import joined, quoted


@dataclass(frozen=True)
class DatasetOutcome:
    """Where a declared dataset stands after this plan, for the models trained on it."""

    name: str  # manifest name
    ref: Ref | None  # the version models use after this plan; None when deleted
    live_id: int | None  # that version's id when it exists before the plan
    fresh: bool  # created or cloned in this plan
    ready_key: str | None  # the step models wait for (its completion), if any
    status_after: str
    previous: str | None = None  # remote name of the version a clone supersedes
    previous_id: int | None = None
    done_keys: tuple[str, ...] = ()  # the last steps of its change (a clone is done after them)
    ambiguous: bool = False  # several live datasets carry its name: nothing is planned on it


@dataclass(frozen=True)
class ProjectScope:
    name: str
    index: ProjectIndex
    addresses: AddressBook
    result: DiffResult  # written to only: errors and warnings
    prune: bool
    ready_key: str | None  # CreateProject, when created or recreated in this plan
    datasets: tuple[DesiredDataset, ...]
    models: tuple[DesiredModel, ...]
    #: names this working copy's manifests declared before (a hint for rename wording)
    history: frozenset[str] | None = None
    keep_superseded: bool = False  # --keep-superseded: superseded trainings keep running
    hours: Mapping[str, HoursRange] = field(default_factory=dict)  # the account's durations
    now: float | None = None  # for the time a training has left (None: not known)

    def keeps_training(self, model: LiveModel) -> bool:
        """A version still training that the manifests let run although superseded
        (metadata.keepSupersededTraining on its declared model, or --keep-superseded): --prune
        keeps it (and its dataset) until it has finished."""
        if model.status != ModelStatus.IN_PROGRESS:
            return False
        parsed = parse_versioned_name(model.name)
        base = parsed.base if parsed else model.name
        declared = next((m for m in self.models if m.name == base and not m.delete), None)
        return declared is not None and (self.keep_superseded or declared.keep_superseded_training)

    def address(self, kind: str, name: str, resource_id: int | None = None) -> str:
        return self.addresses.take(f"{kind}.{self.name}/{name}", resource_id)

    def project_ref(self) -> Ref:
        return self.index.project_ref()

    def models_training_on(self, dataset_name: str) -> list[str]:
        return sorted(m.name for m in self.models if m.dataset == dataset_name and not m.delete)

    def remove_model(
        self, steps: StepList, model: LiveModel, after: tuple[str | None, ...] = ()
    ) -> str | None:
        """StopTraining when InProgress, then DeleteModel; the delete's key (None if gone).

        A model already Stopping is not stopped again: apply's DeleteModel waits for it.
        `after`: keys the removal waits for (its replacement starting to train).
        """
        if model.status == ModelStatus.DELETED:
            return None
        ref = self.index.model_ref(model)
        first = after
        if model.status == ModelStatus.IN_PROGRESS:
            stop = StopTraining(**steps.keyed(model_key(model.id, "stop"), *after), model=ref)
            first = (steps.add(stop),)
        key = steps.add(
            DeleteModel(**steps.keyed(model_key(model.id, "delete"), *first), model=ref)
        )
        if model.status == ModelStatus.COMPLETED:
            self.result.warnings.append(
                f"completed model '{self.name}/{model.name}' will be deleted (its training is lost)"
            )
        return key

    def model_address(self, model: LiveModel) -> str:
        """`model.<project>/<name>`; a version of a declared model is `<base>~<version>` (so
        version 1 never takes the declared model's own address), made unique by id."""
        parsed = parse_versioned_name(model.name)
        name = model.name
        if parsed is not None and parsed.base in self.index.model_versions:
            name = f"{parsed.base}~{parsed.version}"
        return self.address("model", name, model.id)

    def delete_model_with_dataset(
        self, model: LiveModel, dataset_name: str, why: str, after: tuple[str | None, ...]
    ) -> Change:
        """Delete a model because its dataset goes: its own change (so the summary counts it),
        whose delete step (`model_key(id, "delete")`) the dataset's deletion waits for."""
        address = self.model_address(model)
        steps = StepList(address)
        self.remove_model(steps, model, after)
        return Change(
            address=address,
            action="delete",
            reason=(
                f"model '{model.name}' on dataset '{dataset_name}' goes with its dataset ({why}): "
                f"delete it first: {describe_models([model])}"
            ),
            before=model_before(model, dataset_name),
            steps=tuple(steps.steps),
        )


def describe_models(models: list[LiveModel]) -> str:
    """`'a' (Completed: trained, hours lost) and 'b' (InProgress: training stops)`."""
    notes: dict[str, str] = {
        ModelStatus.COMPLETED: "Completed: trained, hours lost",
        ModelStatus.IN_PROGRESS: "InProgress: training stops",
        ModelStatus.STOPPING: "Stopping: apply waits until it stops",
    }
    return joined([f"'{m.name}' ({notes.get(m.status, m.status)})" for m in models])


def model_before(model: LiveModel, dataset_name: str) -> dict[str, Any]:
    """What a deleted model's change shows it was."""
    return {
        "version": model.name,
        "dataset": dataset_name,
        "training_version": model.training_version,
        "status": model.status,
    }


def model_summary(models: list[LiveModel]) -> list[dict[str, str]]:
    return [{"name": m.name, "status": m.status} for m in models]


__all__ = ["DatasetOutcome", "ProjectScope", "describe_models", "model_summary", "quoted"]
