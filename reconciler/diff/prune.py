"""What is in a declared project but not in its manifests: superseded versions and undeclared
datasets and models.

Deletion is explicit: without `--prune` each gets a no-op that says why it is kept; with it, each
is deleted (models first, stopping training first), and the reason names every Completed model
that goes, because its hours of training are lost. Projects no manifest declares are never read,
so never touched.
"""

from __future__ import annotations

from reconciler.diff.changes import PlannedChange
from reconciler.diff.datasets import delete_dataset_versions
from reconciler.diff.live_index import ModelVersion
from reconciler.diff.scope import ProjectScope, describe_models, model_summary
from reconciler.state import LiveDataset

KEEP_HINT = "kept (use --prune to delete)"


def prune_datasets(scope: ProjectScope) -> list[PlannedChange]:
    changes: list[PlannedChange] = []
    for base, versions in sorted(scope.index.dataset_versions.items()):
        current = versions[-1].dataset
        for entry in versions[:-1]:
            dataset = entry.dataset
            if dataset.id in scope.index.claimed_datasets:
                continue
            address = scope.address("dataset", f"{base}~{entry.version}", dataset.id)
            why = f"superseded by '{current.name}'"
            changes.append(_prune_dataset(scope, address, dataset, why))
    for dataset in scope.index.undeclared_datasets:
        if dataset.id in scope.index.claimed_datasets:
            continue
        address = scope.address("dataset", dataset.name, dataset.id)
        changes.append(_prune_dataset(scope, address, dataset, "not declared"))
    return changes


def _prune_dataset(
    scope: ProjectScope, address: str, dataset: LiveDataset, why: str
) -> PlannedChange:
    if not scope.prune:
        return PlannedChange(address, "noop", f"dataset '{dataset.name}' is {why}; {KEEP_HINT}")
    change = PlannedChange(address, "delete", "")
    models = delete_dataset_versions(scope, change, [dataset])
    reason = f"dataset '{dataset.name}' is {why}: delete it (--prune)"
    if models:
        reason += f" with the {'model' if len(models) == 1 else 'models'} on it: "
        reason += describe_models(models)
    change.reason = reason
    change.before = {"version": dataset.name, "status": dataset.status}
    if dataset.images is not None:  # only read for current versions and rename candidates
        change.before["image_count"] = len(dataset.images)
    change.before["models"] = model_summary(models)
    return change


def prune_models(scope: ProjectScope) -> list[PlannedChange]:
    changes: list[PlannedChange] = []
    for base, versions in sorted(scope.index.model_versions.items()):
        current = versions[-1].model
        for entry in versions[:-1]:
            if _handled(scope, entry):
                continue
            address = scope.address("model", f"{base}~{entry.version}", entry.model.id)
            changes.append(_prune_model(scope, address, entry, f"superseded by '{current.name}'"))
    for entry in scope.index.undeclared_models:
        if _handled(scope, entry):
            continue
        address = scope.address("model", entry.model.name, entry.model.id)
        changes.append(_prune_model(scope, address, entry, "not declared"))
    return changes


def _handled(scope: ProjectScope, entry: ModelVersion) -> bool:
    model = entry.model
    return (
        model.status == "Deleted"
        or model.id in scope.index.claimed_models
        or model.id in scope.index.deleted_models
    )


def _prune_model(scope: ProjectScope, address: str, entry: ModelVersion, why: str) -> PlannedChange:
    model = entry.model
    if not scope.prune:
        return PlannedChange(address, "noop", f"model '{model.name}' is {why}; {KEEP_HINT}")
    change = PlannedChange(address, "delete", "")
    scope.remove_model(change, model)
    change.reason = (
        f"model '{model.name}' on dataset '{entry.dataset.name}' is {why}: delete it (--prune): "
        + describe_models([model])
    )
    change.before = {
        "version": model.name,
        "dataset": entry.dataset.name,
        "training_version": model.training_version,
        "status": model.status,
    }
    return change
