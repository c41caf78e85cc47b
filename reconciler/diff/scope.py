"""What every change of one declared project shares while the project is diffed.

A `ProjectScope` bundles the live index of the project, the step the project's children must wait
for (its creation, when it is created or recreated in this plan), the declared models (a dataset's
reason names the models that retrain), and the plan-wide results the changes add to. It also
holds the one routine every deletion path shares: removing a live model (stop it first when it is
training), keyed by model id so that a dataset's deletion can wait for it whichever change owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.diff.changes import DiffResult, PlannedChange, PlannedStep, model_key, quoted
from reconciler.diff.live_index import AddressBook, ProjectIndex
from reconciler.naming import parse_versioned_name
from reconciler.state import DesiredDataset, DesiredModel, LiveModel
from reconciler.steps import DeleteModel, Ref, StopTraining


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


@dataclass
class ProjectScope:
    name: str
    index: ProjectIndex
    addresses: AddressBook
    result: DiffResult
    prune: bool
    ready_key: str | None = None  # CreateProject, when created or recreated in this plan
    datasets: list[DesiredDataset] = field(default_factory=list)
    models: list[DesiredModel] = field(default_factory=list)
    outcomes: dict[str, DatasetOutcome] = field(default_factory=dict)
    #: live model id -> the first step removing it (StopTraining or DeleteModel), so that a
    #: replacement decided later can make the removal wait for it (create before destroy)
    removal_starts: dict[int, PlannedStep] = field(default_factory=dict)
    #: changes made on the side of another one: the deletion of each model on a deleted dataset
    side_changes: list[PlannedChange] = field(default_factory=list)

    def address(self, kind: str, name: str, resource_id: int | None = None) -> str:
        return self.addresses.take(f"{kind}.{self.name}/{name}", resource_id)

    def project_ref(self) -> Ref:
        return self.index.project_ref()

    def models_training_on(self, dataset_name: str) -> list[str]:
        return sorted(m.name for m in self.models if m.dataset == dataset_name and not m.delete)

    def remove_model(
        self, change: PlannedChange, model: LiveModel, after: list[str | None] | None = None
    ) -> str | None:
        """StopTraining when InProgress, then DeleteModel; the delete's key (None if gone).

        A model already Stopping is not stopped again: apply's DeleteModel waits for it.
        `after`: keys the removal waits for (its replacement starting to train).
        """
        if model.status == "Deleted":
            return None
        if model.id in self.index.deleted_models:
            return model_key(model.id, "delete")
        ref = self.index.model_ref(model)
        waits = list(after or [])
        if model.status == "InProgress":
            waits = [change.add_keyed(model_key(model.id, "stop"), StopTraining, waits, model=ref)]
            self.removal_starts[model.id] = change.steps[-1]
        key = change.add_keyed(model_key(model.id, "delete"), DeleteModel, waits, model=ref)
        self.removal_starts.setdefault(model.id, change.steps[-1])
        self.index.deleted_models[model.id] = change.address
        if model.status == "Completed":
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
        self, model: LiveModel, dataset_name: str, why: str, after: list[str | None]
    ) -> str | None:
        """Delete a model because its dataset goes: its own change (so the summary counts it),
        whose delete step the dataset's deletion waits for; the delete's key (None if gone)."""
        if model.status == "Deleted" or model.id in self.index.deleted_models:
            return self.remove_model(PlannedChange("", "noop", ""), model)
        change = PlannedChange(self.model_address(model), "delete", "")
        key = self.remove_model(change, model, after)
        change.reason = (
            f"model '{model.name}' on dataset '{dataset_name}' goes with its dataset ({why}): "
            f"delete it first: {describe_models([model])}"
        )
        change.before = {
            "version": model.name,
            "dataset": dataset_name,
            "training_version": model.training_version,
            "status": model.status,
        }
        self.side_changes.append(change)
        return key


def describe_models(models: list[LiveModel]) -> str:
    """`'a' (Completed: trained, hours lost) and 'b' (InProgress: training stops)`."""
    parts = []
    for model in models:
        note = {
            "Completed": "Completed: trained, hours lost",
            "InProgress": "InProgress: training stops",
            "Stopping": "Stopping: apply waits until it stops",
        }.get(model.status, model.status)
        parts.append(f"'{model.name}' ({note})")
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def model_summary(models: list[LiveModel]) -> list[dict[str, str]]:
    return [{"name": m.name, "status": m.status} for m in models]


__all__ = ["DatasetOutcome", "ProjectScope", "describe_models", "model_summary", "quoted"]
