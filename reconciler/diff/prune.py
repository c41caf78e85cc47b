"""What is in a declared project but not in its manifests: superseded versions and undeclared
datasets and models.

Deletion is explicit: without `--prune` each gets a no-op that says why it is kept; with it, each
is deleted (models first, stopping training first), and the reason names every Completed model
that goes, because its hours of training are lost. Projects no manifest declares are never read,
so never touched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from reconciler.diff.changes import StepList
from reconciler.diff.datasets import DatasetsDiff, _Collected, delete_dataset_versions
from reconciler.diff.live_index import ModelVersion
from reconciler.diff.models import ModelsDiff, Replacement
from reconciler.diff.scope import (
    DatasetOutcome,
    ProjectScope,
    describe_models,
    model_before,
    model_summary,
)
from reconciler.naming import parse_versioned_name
from reconciler.state import LiveDataset, ModelStatus
from reconciler.steps import Change

KEEP_HINT = "kept (use --prune to delete)"


@dataclass(frozen=True)
class _Prunable:
    """A live dataset no declared dataset owns after this plan, and why."""

    name: str  # for its address: `<base>~<version>` or its remote name
    dataset: LiveDataset
    why: str
    after: tuple[str, ...] = ()  # a cloned source goes once its clone is done
    when: str = ""
    base: str | None = None  # the declared dataset it is a version of


def _prunable_datasets(scope: ProjectScope, datasets: DatasetsDiff) -> Iterator[_Prunable]:
    for base, versions in sorted(scope.index.dataset_versions.items()):
        current = versions[-1].dataset
        for entry in versions[:-1]:
            if entry.dataset.id not in datasets.claimed:
                why = f"superseded by '{current.name}'"
                yield _Prunable(f"{base}~{entry.version}", entry.dataset, why, base=base)
    for dataset in scope.index.undeclared_datasets:
        if dataset.id not in datasets.claimed:
            yield _Prunable(dataset.name, dataset, "not declared")
    if scope.prune:
        for outcome in datasets.outcomes.values():
            if outcome.previous:
                yield _cloned_source(scope, outcome)


def _cloned_source(scope: ProjectScope, outcome: DatasetOutcome) -> _Prunable:
    """With --prune, the version this plan clones goes too, once the clone is done: a second
    plan right after apply then has nothing left to prune."""
    assert outcome.previous is not None and outcome.previous_id is not None
    assert outcome.ref is not None
    dataset = scope.index.dataset_by_id[outcome.previous_id]
    parsed = parse_versioned_name(outcome.previous)
    version = parsed.version if parsed else 1
    return _Prunable(
        f"{outcome.name}~{version}",
        dataset,
        f"superseded by '{outcome.ref.remote_name}' in this plan",
        outcome.done_keys,
        f" once '{outcome.ref.remote_name}' is done",
        outcome.name,
    )


def last_completed_versions(scope: ProjectScope) -> frozenset[int]:
    """Per declared model (not marked delete), the id of its newest Completed version: the last
    good model, which --prune keeps until a newer version has Completed."""
    kept = set()
    for desired in scope.models:
        versions = scope.index.model_versions.get(desired.name, ())
        completed = [v.model for v in versions if v.model.status == ModelStatus.COMPLETED]
        if completed and not desired.delete:
            kept.add(completed[-1].id)
    return frozenset(kept)


def models_on_pruned_datasets(
    scope: ProjectScope, datasets: DatasetsDiff, last_good: frozenset[int]
) -> frozenset[int]:
    """The live models that go with a dataset `prune_datasets` deletes (none without --prune)."""
    if not scope.prune:
        return frozenset()
    return frozenset(
        model.id
        for prunable in _prunable_datasets(scope, datasets)
        if _kept_reason(scope, prunable, last_good) is None
        for model in scope.index.models_on(prunable.dataset)
    )


def _kept_reason(scope: ProjectScope, prunable: _Prunable, last_good: frozenset[int]) -> str | None:
    """Why --prune keeps a dataset it would delete: it holds the last good model."""
    for model in scope.index.models_on(prunable.dataset):
        if model.id in last_good:
            return (
                f"kept while model '{model.name}' on it is the last Completed version (--prune "
                "deletes both once its replacement has completed)"
            )
        if scope.keeps_training(model):
            return (
                f"kept while model '{model.name}' on it keeps training (keep-superseded; "
                "--prune deletes both once it has finished)"
            )
    return None


def prune_datasets(
    scope: ProjectScope,
    datasets: DatasetsDiff,
    models: ModelsDiff,
    removed: frozenset[int],
    last_good: frozenset[int],
) -> tuple[tuple[Change, ...], frozenset[int]]:
    """The datasets no declared dataset owns: a noop saying why each is kept, or with --prune
    its deletion (and its models'); the changes and the live model ids they delete."""
    out = _Collected()
    started = {model_id: r.started for model_id, r in models.replaced.items()}
    for prunable in _prunable_datasets(scope, datasets):
        address = scope.address("dataset", prunable.name, prunable.dataset.id)
        kept = _kept_reason(scope, prunable, last_good) if scope.prune else None
        if kept is not None:
            reason = f"dataset '{prunable.dataset.name}' is {prunable.why}; {kept}"
            out.changes.append(Change(address=address, action="noop", reason=reason))
            continue
        out.changes.append(_prune_dataset(scope, address, prunable, out, removed, started))
    return tuple(out.changes), frozenset(out.removed_models)


def _prune_dataset(
    scope: ProjectScope,
    address: str,
    prunable: _Prunable,
    out: _Collected,
    removed: frozenset[int],
    started: Mapping[int, str],
) -> Change:
    dataset, why, when = prunable.dataset, prunable.why, prunable.when
    if not scope.prune:
        reason = f"dataset '{dataset.name}' is {why}; {KEEP_HINT}"
        return Change(address=address, action="noop", reason=reason)
    steps = StepList(address)
    models = delete_dataset_versions(
        scope, steps, [dataset], f"{why}, --prune", out, removed, prunable.after, started
    )
    reason = f"dataset '{dataset.name}' is {why}: delete it (--prune){when}"
    if models:
        reason += (
            f"{',' if when else ''} with the {'model' if len(models) == 1 else 'models'} on it: "
        )
        reason += describe_models(models)
    before: dict[str, object] = {"version": dataset.name, "status": dataset.status}
    if dataset.images is not None:  # only read for current versions and rename candidates
        before["image_count"] = len(dataset.images)
    before["models"] = model_summary(models)
    return Change(
        address=address, action="delete", reason=reason, before=before, steps=tuple(steps.steps)
    )


def prune_models(
    scope: ProjectScope, models: ModelsDiff, removed: frozenset[int], last_good: frozenset[int]
) -> tuple[Change, ...]:
    """The models no declared model owns after this plan, and (with --prune) the ones this plan
    replaces, once their replacement has started training (create before destroy)."""
    changes: list[Change] = []
    handled = models.claimed | removed
    for base, versions in sorted(scope.index.model_versions.items()):
        current = versions[-1].model
        for entry in versions[:-1]:
            if not _handled(entry, handled):
                address = scope.address("model", f"{base}~{entry.version}", entry.model.id)
                why = f"superseded by '{current.name}'"
                kept = _model_kept(scope, entry, last_good, current.name)
                changes.append(_prune_model(scope, address, entry, why, kept=kept))
    for entry in scope.index.undeclared_models:
        if not _handled(entry, handled):
            address = scope.address("model", entry.model.name, entry.model.id)
            changes.append(_prune_model(scope, address, entry, "not declared"))
    if scope.prune:
        changes += _prune_replaced_models(scope, models.replaced, removed, last_good)
    return tuple(changes)


def _model_kept(
    scope: ProjectScope,
    entry: ModelVersion,
    last_good: frozenset[int],
    replacement: str,
) -> str | None:
    """Why --prune keeps a version of a declared model: the last good one."""
    if entry.model.id in last_good:
        return (
            f"kept until '{replacement}' has completed training (the last Completed version; a "
            "later apply with --prune deletes it)"
        )
    if scope.keeps_training(entry.model):
        return (
            "kept: it keeps training (keep-superseded); a later apply with --prune deletes it "
            "once it has finished"
        )
    return None


def _prune_replaced_models(
    scope: ProjectScope,
    replaced: Mapping[int, Replacement],
    removed: frozenset[int],
    last_good: frozenset[int],
) -> list[Change]:
    changes = []
    for base, versions in sorted(scope.index.model_versions.items()):
        entry = versions[-1]
        replacement = replaced.get(entry.model.id)
        if replacement is None or entry.model.id in removed:
            continue
        address = scope.address("model", f"{base}~{entry.version}", entry.model.id)
        why = f"replaced by '{replacement.name}' in this plan"
        kept = _model_kept(scope, entry, last_good, replacement.name)
        after = (replacement.started,)
        changes.append(_prune_model(scope, address, entry, why, after=after, kept=kept))
    return changes


def _handled(entry: ModelVersion, handled: frozenset[int]) -> bool:
    return entry.model.status == ModelStatus.DELETED or entry.model.id in handled


def _prune_model(
    scope: ProjectScope,
    address: str,
    entry: ModelVersion,
    why: str,
    after: tuple[str, ...] = (),
    kept: str | None = None,
) -> Change:
    model = entry.model
    if not scope.prune or kept is not None:
        reason = f"model '{model.name}' is {why}; {kept or KEEP_HINT}"
        return Change(address=address, action="noop", reason=reason)
    steps = StepList(address)
    scope.remove_model(steps, model, after)
    return Change(
        address=address,
        action="delete",
        reason=(
            f"model '{model.name}' on dataset '{entry.dataset.name}' is {why}: delete it "
            "(--prune): " + describe_models([model])
        ),
        before=model_before(model, entry.dataset.name),
        steps=tuple(steps.steps),
    )
