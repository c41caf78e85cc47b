"""Declared models: create and start, start a created one, replace one that can no longer be
right (new dataset version, other training_version or training_mode, other expert training
parameters, failed or stopped training), repair console edits (description, name), or delete.
A checkpoint the API cannot select is said, not acted on (see `generations.checkpoint_note`).

A model is never edited into another: its dataset and training version are fixed at creation, so a
replacement is a new model (`lora-light~2`) trained from scratch, and the old one stays until
pruned. Training takes hours, so every reason that starts one says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.diff.changes import StepList, model_key, orphan_advice, training_time
from reconciler.diff.generations import (
    checkpoint_note,
    desired_training,
    parameters_dict,
    training_differences,
)
from reconciler.diff.live_index import ModelVersion
from reconciler.diff.protection import protected_refusal
from reconciler.diff.renames import rename_note
from reconciler.diff.scope import DatasetOutcome, ProjectScope, describe_models, model_summary
from reconciler.naming import parse_versioned_name
from reconciler.state import DEAD_STATUSES, DesiredModel, LiveModel, ModelStatus, Source
from reconciler.steps import Change, CreateModel, StartTraining, StopTraining, UpdateModel
from reconciler.training_hours import hours_for, time_left


@dataclass(frozen=True)
class Replacement:
    """A live model this plan replaces: the step starting its replacement, and its name."""

    started: str
    name: str


@dataclass(frozen=True)
class ModelsDiff:
    changes: tuple[Change, ...]
    claimed: frozenset[int]  # live model ids a declared model owns (current, renamed, deleted)
    replaced: Mapping[int, Replacement] = field(default_factory=dict)


def delete_declared_models(scope: ProjectScope) -> ModelsDiff:
    """The models the manifests mark for deletion: first, since they own those models (a
    dataset's deletion then waits for their delete steps)."""
    changes, claimed = [], set()
    for desired in scope.models:
        if desired.delete:
            change, ids = _delete(scope, desired, scope.address("model", desired.name))
            changes.append(change)
            claimed |= ids
    return ModelsDiff(tuple(changes), frozenset(claimed))


def diff_models(
    scope: ProjectScope,
    outcomes: Mapping[str, DatasetOutcome],
    renames: Mapping[str, ModelVersion],
    doomed: frozenset[int],
    last_good: frozenset[int] = frozenset(),
    removed: frozenset[int] = frozenset(),
) -> ModelsDiff:
    """Every declared model not marked for deletion. `doomed`: live models deleted with a
    pruned dataset (a replaced one among them goes once its replacement has started);
    `removed`: live models other changes delete (with a dataset marked for deletion)."""
    changes: list[Change] = []
    claimed: set[int] = set()
    replaced: dict[int, Replacement] = {}
    for desired in scope.models:
        if desired.delete:
            continue
        address = scope.address("model", desired.name)
        renamed_from = renames.get(desired.name)
        change = _diff_model(
            scope,
            desired,
            address,
            outcomes,
            renamed_from,
            doomed | removed,
            last_good,
            claimed,
            replaced,
        )
        changes.append(change)
    return ModelsDiff(tuple(changes), frozenset(claimed), replaced)


def _diff_model(
    scope: ProjectScope,
    desired: DesiredModel,
    address: str,
    outcomes: Mapping[str, DatasetOutcome],
    renamed_from: ModelVersion | None,
    doomed: frozenset[int],
    last_good: frozenset[int],
    claimed: set[int],
    replaced: dict[int, Replacement],
) -> Change:
    twins = scope.index.twin_models(desired.name)
    if len(twins) > 1:
        claimed.update(entry.model.id for entry in twins)
        return _ambiguous(scope, address, twins)
    outcome = outcomes.get(desired.dataset)
    if outcome is None or outcome.ref is None:
        scope.result.errors.append(
            f"model '{scope.name}/{desired.name}' refers to dataset '{desired.dataset}', which "
            "no manifest declares (or which is marked for deletion): declare the dataset or "
            "delete the model"
        )
        reason = "not planned: its dataset is not declared"
        return Change(address=address, action="noop", reason=reason)
    if outcome.ambiguous:
        current = scope.index.current_model(desired.name)
        if current is not None:
            claimed.add(current.model.id)
        reason = f"not compared: the name of dataset '{desired.dataset}' is ambiguous"
        return Change(address=address, action="noop", reason=reason)
    desired_dataset = next((d for d in scope.datasets if d.name == desired.dataset), None)
    if desired_dataset is not None and desired_dataset.status == "draft":
        reason = (
            f"waiting: dataset '{desired.dataset}' is draft; models train only on completed "
            "datasets"
        )
        return Change(address=address, action="noop", reason=reason)
    current = scope.index.current_model(desired.name) or renamed_from
    if current is None:
        return _create(scope, desired, outcome, address)
    claimed.add(current.model.id)
    problems = _why_not_good(scope, desired, outcome, current)
    if problems and desired.protected is not None:
        return _refuse_replace(scope, desired, address, current, problems, desired.protected)
    if problems:
        change, replacement = _replace(
            scope, desired, outcome, address, current, problems, doomed, last_good
        )
        if replacement is not None:
            replaced[current.model.id] = replacement
        return change
    return _keep(scope, desired, outcome, address, current, renamed=renamed_from is not None)


def _ambiguous(scope: ProjectScope, address: str, twins: list[ModelVersion]) -> Change:
    """Two live models carry the current version's name: refuse rather than guess which one to
    keep (deleting the other could stop hours of training)."""
    listed = ", ".join(
        f"id {entry.model.id} {entry.model.status} on dataset '{entry.dataset.name}'"
        for entry in twins
    )
    name = twins[-1].model.name
    orphans = [entry.model.id for entry in twins if entry.model.status == "Created"]
    advice = orphan_advice(
        orphans,
        len(twins),
        "models",
        otherwise="rename or delete the extra ones in Bria's console (stop training first), "
        "then plan again",
    )
    scope.result.errors.append(
        f"model '{name}' exists {len(twins)} times in project '{scope.name}' in Bria "
        f"({listed}), so the plan cannot tell which one the manifest means: {advice}"
    )
    reason = "not compared: its name is ambiguous in Bria"
    return Change(address=address, action="noop", reason=reason)


def _create(
    scope: ProjectScope, desired: DesiredModel, outcome: DatasetOutcome, address: str
) -> Change:
    assert outcome.ref is not None
    steps = StepList(address)
    name = scope.index.next_model_name(desired.name)
    _create_and_train(scope, steps, desired, outcome, name)
    return Change(
        address=address,
        action="create",
        reason=(
            f"model '{desired.name}' does not exist: create it on dataset "
            f"'{outcome.ref.remote_name}' ({desired_training(desired)}) and start training "
            f"({training_time(desired.training_mode)})"
        ),
        after=_after(name, outcome, desired, ModelStatus.IN_PROGRESS),
        steps=tuple(steps.steps),
    )


def _create_and_train(
    scope: ProjectScope,
    steps: StepList,
    desired: DesiredModel,
    outcome: DatasetOutcome,
    name: str,
) -> str:
    """CreateModel then StartTraining; the key of the StartTraining step."""
    assert outcome.ref is not None
    model = scope.index.new_model_ref(name)
    created = steps.add(
        CreateModel(
            **steps.head("create", outcome.ready_key),
            dataset=outcome.ref,
            model=model,
            training_version=None if desired.training_mode else desired.training_version,
            training_mode=desired.training_mode,
            description=desired.description,
        )
    )
    return steps.add(
        StartTraining(
            **steps.head("start-training", created), model=model, parameters=_parameters(desired)
        )
    )


def _parameters(desired: DesiredModel) -> dict[str, Any] | None:
    """Start Training's body: None for a reference model (the reference sends none); for a
    current-generation one (whose body the published OpenAPI requires) the expert parameters
    the manifest writes, `{}` for none (Bria's defaults; a fully automated model takes none)."""
    if desired.training_mode is None:
        return None
    if desired.training_mode != "expert":
        return {}
    return parameters_dict(desired.training_parameters) or {}


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
    problems += training_differences(desired, model)
    if model.status == ModelStatus.DELETED:
        problems.append("it was deleted")
    elif model.status in DEAD_STATUSES:
        problems.append(f"previous training {model.status}")
    return problems


def _refuse_replace(
    scope: ProjectScope,
    desired: DesiredModel,
    address: str,
    current: ModelVersion,
    problems: list[str],
    protected: Source,
) -> Change:
    """A protected model is never replaced (a new training from scratch): one located error,
    and a no-op change that says so."""
    why = "; ".join(problems)
    scope.result.errors.append(
        protected_refusal(
            f"model '{scope.name}/{current.model.name}'",
            protected,
            f"the plan would replace it with a new training from scratch ({why})",
            "remove metadata.protect from its manifest to let it retrain, or undo the change",
        )
    )
    reason = f"not replaced: it is protected (metadata.protect: true), and {why}"
    return Change(address=address, action="noop", reason=reason)


def _replace(
    scope: ProjectScope,
    desired: DesiredModel,
    outcome: DatasetOutcome,
    address: str,
    current: ModelVersion,
    problems: list[str],
    doomed: frozenset[int],
    last_good: frozenset[int],
) -> tuple[Change, Replacement | None]:
    old = current.model
    steps = StepList(address)
    name = scope.index.next_model_name(desired.name)
    started = _create_and_train(scope, steps, desired, outcome, name)
    reason = (
        f"model '{old.name}' must be replaced: {'; '.join(problems)}: trains a new model "
        f"'{name}' ({training_time(desired.training_mode)})"
    )
    replacement = None
    if old.status != ModelStatus.DELETED:
        replacement = Replacement(started, name)
        old_text = f"the old model '{old.name}' ({old.status})"
        if old.id in last_good and scope.prune:  # keep the last good model
            reason += (
                f"; {old_text} is kept until '{name}' has completed training (the last Completed "
                "version; a later apply with --prune deletes it)"
            )
        elif scope.prune and old.id not in doomed and scope.keeps_training(old):
            reason += (
                f"; {old_text} keeps training (keep-superseded): a later apply with --prune "
                "deletes it once it has finished"
            )
        elif old.id in doomed:  # its dataset is deleted (pruned): create before destroy
            reason += f"; {old_text} is deleted with dataset '{current.dataset.name}'"
            if scope.prune:
                reason += f" (--prune) once '{name}' has started training"
        elif scope.prune:
            reason += f"; {old_text} is deleted (--prune) once '{name}' has started training"
        else:
            reason += f"; {old_text} stays until pruned"
            if old.status == ModelStatus.COMPLETED:
                scope.result.warnings.append(
                    f"completed model '{scope.name}/{old.name}' is replaced by "
                    f"'{scope.name}/{name}', which trains from scratch"
                )
        if old.status == ModelStatus.IN_PROGRESS:
            moved = outcome.fresh or old.dataset_id != outcome.live_id  # its dataset changed
            on = "on a superseded dataset" if moved else ""
            deleted = old.id in doomed
            reason += _supersede_training(scope, desired, steps, old, started, on, deleted)
    change = Change(
        address=address,
        action="replace",
        reason=reason,
        before=_before(old, current),
        after=_after(name, outcome, desired, ModelStatus.IN_PROGRESS),
        steps=tuple(steps.steps),
    )
    return change, replacement


def _supersede_training(
    scope: ProjectScope,
    desired: DesiredModel,
    steps: StepList,
    old: LiveModel,
    started: str,
    on: str,
    deleted: bool,
) -> str:
    """A replaced model still training (never Completed): nothing declared will use it, so its
    training is stopped once the replacement has started (with --prune it is deleted, which
    stops it too), unless keepSupersededTraining says to let it run (then --prune keeps it until
    it has finished). The note for the reason;
    the same words go to the plan's warnings."""
    expected = hours_for(scope.hours, old.training_kind)
    left = time_left(old, expected, scope.now)
    still = f"still training {on}".rstrip() if on else "still training, and superseded"
    subject = f"model '{scope.name}/{old.name}' is {still}: {left}"
    if deleted:
        outcome = "its training is stopped (it is deleted with its dataset)"
    elif desired.keep_superseded_training or scope.keep_superseded:
        outcome = f"it keeps running and costs {left.removesuffix(' left')} more (keep-superseded)"
    elif scope.prune:
        outcome = "its training is stopped (--prune deletes it)"
    else:
        ref = scope.index.model_ref(old)
        steps.add(StopTraining(**steps.keyed(model_key(old.id, "stop"), started), model=ref))
        outcome = (
            "its training is stopped, since nothing declared will use it "
            "(metadata.keepSupersededTraining: true or --keep-superseded lets it run)"
        )
    scope.result.warnings.append(f"{subject}; {outcome}")
    return f"; the old model is {still} ({left}): {outcome}"


def _keep(
    scope: ProjectScope,
    desired: DesiredModel,
    outcome: DatasetOutcome,
    address: str,
    current: ModelVersion,
    *,
    renamed: bool,
) -> Change:
    assert outcome.ref is not None
    model = current.model
    ref = scope.index.model_ref(model)
    steps = StepList(address)
    fields: dict[str, Any] = {}
    notes: list[str] = []
    drift = False
    if renamed:
        fields["name"] = desired.name
        ref = scope.index.model_ref(model, desired.name)
        back, drift = rename_note("model", scope.name, desired.name, model.name, scope.history)
        notes.append(back)
    if desired.description is not None and desired.description != model.description:
        drift = True
        fields["description"] = desired.description
        notes.append(f"model '{ref.remote_name}' description differs: update it")
    update_key = None
    if fields:
        update_key = steps.add(UpdateModel(**steps.head("update"), model=ref, fields=fields))
    status_after = model.status
    if model.status == ModelStatus.CREATED:
        steps.add(
            StartTraining(
                **steps.head("start-training", outcome.ready_key, update_key),
                model=ref,
                parameters=_parameters(desired),
            )
        )
        notes.append(
            f"model '{ref.remote_name}' was created but not started: start training "
            f"({training_time(desired.training_mode)})"
        )
        status_after = ModelStatus.IN_PROGRESS
    if steps:
        after = _after(ref.remote_name, outcome, desired, status_after)
        if desired.description is None:
            after["description"] = model.description
        return Change(
            address=address,
            action="update",
            reason="; ".join(notes),
            before=_before(model, current),
            after=after,
            drift=drift,
            steps=tuple(steps.steps),
        )
    if model.status == ModelStatus.IN_PROGRESS:
        reason = (
            f"training (InProgress) on dataset '{outcome.ref.remote_name}'; started earlier, "
            f"{training_time(desired.training_mode)}: not a change"
        )
    elif model.status == ModelStatus.STOPPING:
        reason = (
            "stopping (Stopping): a stop was requested outside the manifests; once it is "
            "Stopped the next plan replaces it"
        )
    else:
        reason = f"trained ({model.status}) on dataset '{outcome.ref.remote_name}'"
    note = checkpoint_note(desired, model)
    if note is not None:
        scope.result.warnings.append(note)
        reason += f"; {note}"
    return Change(address=address, action="noop", reason=reason)


def _delete(scope: ProjectScope, desired: DesiredModel, address: str) -> tuple[Change, set[int]]:
    versions = [
        v.model
        for v in scope.index.model_versions.get(desired.name, ())
        if v.model.status != ModelStatus.DELETED
    ]
    if not versions:
        reason = f"model '{desired.name}' is already absent"
        return Change(address=address, action="noop", reason=reason), set()
    steps = StepList(address)
    for model in versions:
        scope.remove_model(steps, model)
    change = Change(
        address=address,
        action="delete",
        reason=f"model '{desired.name}' is marked for deletion: delete {describe_models(versions)}",
        before={"versions": model_summary(versions)},
        steps=tuple(steps.steps),
    )
    return change, {model.id for model in versions}


def _before(model: LiveModel, entry: ModelVersion) -> dict[str, Any]:
    before: dict[str, Any] = {
        "version": model.name,
        "dataset": entry.dataset.name,
        "training_version": model.training_version,
        "status": model.status,
        "description": model.description or None,  # "" is no description, as None
    }
    if model.training_mode is not None:  # the current generation's fields instead
        del before["training_version"]
        before["training_mode"] = model.training_mode
        if model.training_parameters:
            before["training_parameters"] = parameters_dict(model.training_parameters)
        if model.active_model_version is not None:
            before["checkpoint"] = model.active_model_version
    return before


def _after(
    name: str, outcome: DatasetOutcome, desired: DesiredModel, status: str
) -> dict[str, Any]:
    assert outcome.ref is not None
    after: dict[str, Any] = {
        "version": name,
        "dataset": outcome.ref.remote_name,
        "training_version": desired.training_version,
        "status": status,
        "description": desired.description,
    }
    if desired.training_mode is not None:  # the current generation's fields instead
        del after["training_version"]
        after["training_mode"] = desired.training_mode
        if desired.training_parameters:
            after["training_parameters"] = parameters_dict(desired.training_parameters)
        if desired.checkpoint is not None:
            after["checkpoint"] = desired.checkpoint
    return after
