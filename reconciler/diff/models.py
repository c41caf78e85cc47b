"""Declared models: create and start, start a created one, replace one that can no longer be
right (new dataset version, other training_version, failed or stopped training), repair console
edits (description, name), or delete.

A model is never edited into another: its dataset and training version are fixed at creation, so a
replacement is a new model (`lora-light~2`) trained from scratch, and the old one stays until
pruned. Training takes hours, so every reason that starts one says so.
"""

from __future__ import annotations

from typing import Any

from reconciler.diff.changes import DEAD_STATUSES, TRAINING_TIME, PlannedChange
from reconciler.diff.live_index import ModelVersion
from reconciler.diff.scope import DatasetOutcome, ProjectScope, describe_models, model_summary
from reconciler.naming import parse_versioned_name
from reconciler.state import DesiredModel, LiveModel
from reconciler.steps import CreateModel, Ref, StartTraining, UpdateModel


def diff_model(
    scope: ProjectScope, desired: DesiredModel, renamed_from: ModelVersion | None = None
) -> PlannedChange:
    address = scope.address("model", desired.name)
    if desired.delete:
        return _delete(scope, desired, address)
    twins = scope.index.twin_models(desired.name)
    if len(twins) > 1:
        return _ambiguous(scope, address, twins)
    outcome = scope.outcomes.get(desired.dataset)
    if outcome is None or outcome.ref is None:
        scope.result.errors.append(
            f"model '{scope.name}/{desired.name}' refers to dataset '{desired.dataset}', which "
            "no manifest declares (or which is marked for deletion): declare the dataset or "
            "delete the model"
        )
        return PlannedChange(address, "noop", "not planned: its dataset is not declared")
    if outcome.ambiguous:
        current = scope.index.current_model(desired.name)
        if current is not None:
            scope.index.claimed_models.add(current.model.id)
        return PlannedChange(
            address, "noop", f"not compared: the name of dataset '{desired.dataset}' is ambiguous"
        )
    desired_dataset = next((d for d in scope.datasets if d.name == desired.dataset), None)
    if desired_dataset is not None and desired_dataset.status == "draft":
        return PlannedChange(
            address,
            "noop",
            f"waiting: dataset '{desired.dataset}' is draft; models train only on completed "
            "datasets",
        )
    current = scope.index.current_model(desired.name) or renamed_from
    if current is None:
        return _create(scope, desired, outcome, address)
    scope.index.claimed_models.add(current.model.id)
    problems = _why_not_good(scope, desired, outcome, current)
    if problems:
        return _replace(scope, desired, outcome, address, current, problems)
    return _keep(scope, desired, outcome, address, current, renamed=renamed_from is not None)


def _ambiguous(scope: ProjectScope, address: str, twins: list[ModelVersion]) -> PlannedChange:
    """Two live models carry the current version's name: refuse rather than guess which one to
    keep (deleting the other could stop hours of training)."""
    scope.index.claimed_models.update(entry.model.id for entry in twins)
    listed = ", ".join(
        f"id {entry.model.id} {entry.model.status} on dataset '{entry.dataset.name}'"
        for entry in twins
    )
    name = twins[-1].model.name
    scope.result.errors.append(
        f"model '{name}' exists {len(twins)} times in project '{scope.name}' in Bria "
        f"({listed}), so the plan cannot tell which one the manifest means: rename or "
        "delete the extra ones in Bria's console (stop training first), then plan again"
    )
    return PlannedChange(address, "noop", "not compared: its name is ambiguous in Bria")


def _create(
    scope: ProjectScope, desired: DesiredModel, outcome: DatasetOutcome, address: str
) -> PlannedChange:
    assert outcome.ref is not None
    change = PlannedChange(address, "create", "")
    name = scope.index.next_model_name(desired.name)
    _create_and_train(scope, change, desired, outcome, name)
    change.reason = (
        f"model '{desired.name}' does not exist: create it on dataset "
        f"'{outcome.ref.remote_name}' ({desired.training_version}) and start training "
        f"({TRAINING_TIME})"
    )
    change.after = _after(name, outcome, desired, "InProgress")
    return change


def _create_and_train(
    scope: ProjectScope,
    change: PlannedChange,
    desired: DesiredModel,
    outcome: DatasetOutcome,
    name: str,
) -> str:
    """CreateModel then StartTraining; the key of the StartTraining step."""
    assert outcome.ref is not None
    model = Ref("model", scope.name, name)
    created = change.add(
        "create",
        CreateModel,
        [outcome.ready_key],
        dataset=outcome.ref,
        model=model,
        training_version=desired.training_version,
        description=desired.description,
    )
    return change.add("start-training", StartTraining, [created], model=model)


def _why_not_good(
    scope: ProjectScope, desired: DesiredModel, outcome: DatasetOutcome, current: ModelVersion
) -> list[str]:
    assert outcome.ref is not None
    model = current.model
    problems = []
    if outcome.fresh and outcome.previous is not None:
        problems.append(f"dataset changed to '{outcome.ref.remote_name}'")
    elif outcome.fresh:
        problems.append(
            f"it was trained on dataset '{current.dataset.name}', not on "
            f"'{outcome.ref.remote_name}', which is created in this plan"
        )
    elif model.dataset_id != outcome.live_id:
        on = scope.index.dataset_by_id.get(model.dataset_id or -1) or current.dataset
        parsed = parse_versioned_name(on.name)
        if parsed is not None and parsed.base == desired.dataset:
            problems.append(
                f"it was trained on dataset '{on.name}', which is superseded by "
                f"'{outcome.ref.remote_name}'"
            )
        else:
            problems.append(
                f"it was trained on dataset '{on.name}', not on '{outcome.ref.remote_name}'"
            )
    if model.training_mode is not None:  # a current-generation model (training_mode)
        problems.append(
            f"training_mode {model.training_mode} -> training_version {desired.training_version}"
        )
    elif model.training_version and model.training_version != desired.training_version:
        # a record that names no training version (Update Model's answer) is not a difference
        problems.append(f"training_version {model.training_version} -> {desired.training_version}")
    if model.status == "Deleted":
        problems.append("it was deleted")
    elif model.status in DEAD_STATUSES:
        problems.append(f"previous training {model.status}")
    return problems


def _replace(
    scope: ProjectScope,
    desired: DesiredModel,
    outcome: DatasetOutcome,
    address: str,
    current: ModelVersion,
    problems: list[str],
) -> PlannedChange:
    old = current.model
    change = PlannedChange(address, "replace", "", before=_before(old, current))
    name = scope.index.next_model_name(desired.name)
    started = _create_and_train(scope, change, desired, outcome, name)
    reason = (
        f"model '{old.name}' must be replaced: {'; '.join(problems)}: trains a new model "
        f"'{name}' ({TRAINING_TIME})"
    )
    if old.status != "Deleted":
        scope.index.replaced_models[old.id] = (started, name)
        old_text = f"the old model '{old.name}' ({old.status})"
        if old.id in scope.removal_starts:  # its dataset is pruned: create before destroy
            scope.removal_starts[old.id].after.append(started)
            reason += (
                f"; {old_text} is deleted with dataset '{current.dataset.name}' (--prune) once "
                f"'{name}' has started training"
            )
        elif scope.prune:
            reason += f"; {old_text} is deleted (--prune) once '{name}' has started training"
        else:
            reason += f"; {old_text} stays until pruned"
            if old.status == "Completed":
                scope.result.warnings.append(
                    f"completed model '{scope.name}/{old.name}' is replaced by "
                    f"'{scope.name}/{name}', which trains from scratch"
                )
    change.reason = reason
    change.after = _after(name, outcome, desired, "InProgress")
    return change


def _keep(
    scope: ProjectScope,
    desired: DesiredModel,
    outcome: DatasetOutcome,
    address: str,
    current: ModelVersion,
    *,
    renamed: bool,
) -> PlannedChange:
    assert outcome.ref is not None
    model = current.model
    ref = scope.index.model_ref(model)
    change = PlannedChange(address, "noop", "", before=_before(model, current))
    fields: dict[str, Any] = {}
    notes: list[str] = []
    if renamed:
        fields["name"] = desired.name
        ref = Ref("model", scope.name, desired.name, model.id)
        notes.append(
            f"model '{desired.name}' was renamed in the console from '{desired.name}' to "
            f"'{model.name}': rename it back"
        )
    if desired.description is not None and desired.description != model.description:
        fields["description"] = desired.description
        notes.append(f"model '{ref.remote_name}' description differs: update it")
    update_key = None
    if fields:
        update_key = change.add("update", UpdateModel, model=ref, fields=fields)
        change.drift = True
    status_after = model.status
    if model.status == "Created":
        change.add("start-training", StartTraining, [outcome.ready_key, update_key], model=ref)
        notes.append(
            f"model '{ref.remote_name}' was created but not started: start training "
            f"({TRAINING_TIME})"
        )
        status_after = "InProgress"
    if change.steps:
        change.action = "update"
        change.reason = "; ".join(notes)
        change.after = _after(ref.remote_name, outcome, desired, status_after)
        if desired.description is None:
            change.after["description"] = model.description
        return change
    change.before = None
    if model.status == "InProgress":
        change.reason = (
            f"training (InProgress) on dataset '{outcome.ref.remote_name}'; started earlier, "
            f"{TRAINING_TIME}: not a change"
        )
    elif model.status == "Stopping":
        change.reason = (
            "stopping (Stopping): a stop was requested outside the manifests; once it is "
            "Stopped the next plan replaces it"
        )
    else:
        change.reason = f"trained ({model.status}) on dataset '{outcome.ref.remote_name}'"
    return change


def _delete(scope: ProjectScope, desired: DesiredModel, address: str) -> PlannedChange:
    versions = [
        v.model
        for v in scope.index.model_versions.get(desired.name, [])
        if v.model.status != "Deleted"
    ]
    if not versions:
        return PlannedChange(address, "noop", f"model '{desired.name}' is already absent")
    change = PlannedChange(address, "delete", "")
    for model in versions:
        scope.index.claimed_models.add(model.id)
        scope.remove_model(change, model)
    change.reason = (
        f"model '{desired.name}' is marked for deletion: delete {describe_models(versions)}"
    )
    change.before = {"versions": model_summary(versions)}
    return change


def find_model_renames(scope: ProjectScope) -> dict[str, ModelVersion]:
    """Declared models with no version, and exactly one foreign-named model that fits them."""
    candidates: dict[str, list[ModelVersion]] = {}
    for desired in scope.models:
        if desired.delete or scope.index.model_versions.get(desired.name):
            continue
        outcome = scope.outcomes.get(desired.dataset)
        if outcome is None or outcome.fresh or outcome.live_id is None:
            continue
        candidates[desired.name] = [
            entry
            for entry in scope.index.undeclared_models
            if entry.model.dataset_id == outcome.live_id
            and entry.model.training_version == desired.training_version
            and entry.model.status not in DEAD_STATUSES
        ]
    counts: dict[int, int] = {}
    for matches in candidates.values():
        for entry in matches:
            counts[entry.model.id] = counts.get(entry.model.id, 0) + 1
    return {
        name: matches[0]
        for name, matches in candidates.items()
        if len(matches) == 1 and counts[matches[0].model.id] == 1
    }


def _before(model: LiveModel, entry: ModelVersion) -> dict[str, Any]:
    return {
        "version": model.name,
        "dataset": entry.dataset.name,
        "training_version": model.training_version,
        "status": model.status,
        "description": model.description,
    }


def _after(
    name: str, outcome: DatasetOutcome, desired: DesiredModel, status: str
) -> dict[str, Any]:
    assert outcome.ref is not None
    return {
        "version": name,
        "dataset": outcome.ref.remote_name,
        "training_version": desired.training_version,
        "status": status,
        "description": desired.description,
    }
