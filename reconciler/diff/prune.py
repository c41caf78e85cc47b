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
from reconciler.diff.scope import DatasetOutcome, ProjectScope, describe_models, model_summary
from reconciler.naming import parse_versioned_name
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
    if scope.prune:
        changes += [_prune_cloned_source(scope, o) for o in scope.outcomes.values() if o.previous]
    return changes


def _prune_cloned_source(scope: ProjectScope, outcome: DatasetOutcome) -> PlannedChange:
    """With --prune, the version this plan clones goes too, once the clone is done: a second
    plan right after apply then has nothing left to prune."""
    assert outcome.previous is not None and outcome.previous_id is not None
    assert outcome.ref is not None
    dataset = scope.index.dataset_by_id[outcome.previous_id]
    parsed = parse_versioned_name(outcome.previous)
    version = parsed.version if parsed else 1
    address = scope.address("dataset", f"{outcome.name}~{version}", dataset.id)
    why = f"superseded by '{outcome.ref.remote_name}' in this plan"
    when = f" once '{outcome.ref.remote_name}' is done"
    return _prune_dataset(scope, address, dataset, why, after=outcome.done_keys, when=when)


def _prune_dataset(
    scope: ProjectScope,
    address: str,
    dataset: LiveDataset,
    why: str,
    after: tuple[str, ...] = (),
    when: str = "",
) -> PlannedChange:
    if not scope.prune:
        return PlannedChange(address, "noop", f"dataset '{dataset.name}' is {why}; {KEEP_HINT}")
    change = PlannedChange(address, "delete", "")
    models = delete_dataset_versions(scope, change, [dataset], f"{why}, --prune", after)
    reason = f"dataset '{dataset.name}' is {why}: delete it (--prune){when}"
    if models:
        reason += (
            f"{',' if when else ''} with the {'model' if len(models) == 1 else 'models'} on it: "
        )
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
    if scope.prune:
        changes += _prune_replaced_models(scope)
    return changes


def _prune_replaced_models(scope: ProjectScope) -> list[PlannedChange]:
    """With --prune, a model this plan replaces goes too, once its replacement has started
    training (create before destroy)."""
    changes = []
    for base, versions in sorted(scope.index.model_versions.items()):
        entry = versions[-1]
        replaced = scope.index.replaced_models.get(entry.model.id)
        if replaced is None or entry.model.id in scope.index.deleted_models:
            continue
        started, new_name = replaced
        address = scope.address("model", f"{base}~{entry.version}", entry.model.id)
        why = f"replaced by '{new_name}' in this plan"
        changes.append(_prune_model(scope, address, entry, why, after=[started]))
    return changes


def _handled(scope: ProjectScope, entry: ModelVersion) -> bool:
    model = entry.model
    return (
        model.status == "Deleted"
        or model.id in scope.index.claimed_models
        or model.id in scope.index.deleted_models
    )


def _prune_model(
    scope: ProjectScope,
    address: str,
    entry: ModelVersion,
    why: str,
    after: list[str | None] | None = None,
) -> PlannedChange:
    model = entry.model
    if not scope.prune:
        return PlannedChange(address, "noop", f"model '{model.name}' is {why}; {KEEP_HINT}")
    change = PlannedChange(address, "delete", "")
    scope.remove_model(change, model, after)
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
