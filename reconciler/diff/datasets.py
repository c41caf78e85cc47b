from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.adoption_lock import LockUpdate, dataset_key
from reconciler.diff.adoption import adoption_note
from reconciler.diff.changes import (
    TRAINING_TIME,
    StepList,
    model_key,
    orphan_advice,
    plural,
    quoted,
)
from reconciler.diff.images import ImageEdits, add_edit_steps, compare_images
from reconciler.diff.renames import rename_note
from reconciler.diff.scope import DatasetOutcome, ProjectScope, describe_models, model_summary
from reconciler.image_review import ImageReview, review_images
from reconciler.naming import versioned_name
from reconciler.state import DesiredDataset, LiveDataset, LiveModel
from reconciler.steps import Change, CloneDataset, CreateDataset, DeleteDataset, Ref, UpdateDataset


@dataclass(frozen=True)
class DatasetsDiff:
    """The declared datasets' changes and what the later phases need to know of them."""

    changes: tuple[Change, ...]
    outcomes: Mapping[str, DatasetOutcome]  # manifest name -> where it stands after the plan
    claimed: frozenset[int]  # live dataset ids a declared dataset owns (current, renamed, deleted)
    removed_models: frozenset[int]  # live model ids deleted with a deleted dataset


@dataclass
class _Collected:
    """One phase's own accumulator (local to `diff_datasets` / `prune_datasets`)."""

    changes: list[Change] = field(default_factory=list)
    claimed: set[int] = field(default_factory=set)
    removed_models: set[int] = field(default_factory=set)


def diff_datasets(
    scope: ProjectScope, renames: Mapping[str, LiveDataset], removed_models: frozenset[int]
) -> DatasetsDiff:
    """Every declared dataset of the project; `removed_models` are deleted by model changes."""
    out = _Collected()
    outcomes: dict[str, DatasetOutcome] = {}
    for desired in scope.datasets:
        change, outcome = _diff_dataset(
            scope, desired, renames.get(desired.name), out, removed_models
        )
        out.changes.append(change)
        if outcome is not None:
            outcomes[desired.name] = outcome
    return DatasetsDiff(
        tuple(out.changes), outcomes, frozenset(out.claimed), frozenset(out.removed_models)
    )


def _diff_dataset(
    scope: ProjectScope,
    desired: DesiredDataset,
    renamed_from: LiveDataset | None,
    out: _Collected,
    removed_models: frozenset[int],
) -> tuple[Change, DatasetOutcome | None]:
    if desired.delete:
        return _delete(scope, desired, out, removed_models), None
    current = scope.index.current_dataset(desired.name)
    live = current.dataset if current else renamed_from
    if live is None:
        return _create(scope, desired)
    out.claimed.add(live.id)
    address = scope.address("dataset", desired.name)
    twins = scope.index.twin_datasets(desired.name)
    if len(twins) > 1:
        return _ambiguous(scope, desired, address, twins, out)
    if live.images is None:
        scope.result.errors.append(
            f"dataset '{scope.name}/{live.name}': its images were not read from Bria, so it "
            "cannot be compared (this is a bug in reading the live state; please report it)"
        )
        outcome = DatasetOutcome(
            desired.name, scope.index.dataset_ref(live), live.id, False, None, live.status
        )
        reason = "not compared: its images were not read"
        return Change(address=address, action="noop", reason=reason), outcome
    if live.upload_type == "advanced":  # whatever the manifest says: validate refuses advanced
        scope.result.errors.append(
            f"dataset '{scope.name}/{live.name}' is an 'advanced' (zip bulk upload) dataset in "
            "Bria, which the reconciler cannot upload to, and an upload type cannot change: "
            "delete it in Bria's console (or rename the manifest's dataset), then plan again"
        )
        outcome = DatasetOutcome(
            desired.name, scope.index.dataset_ref(live), live.id, False, None, live.status
        )
        reason = "not compared: it is an advanced upload dataset"
        return Change(address=address, action="noop", reason=reason), outcome
    edits = compare_images(
        desired,
        live.images,
        live.caption_prefix,
        live.visual_schema,
        # a record without a caption_prefix field (the current generation's, or a reference
        # dataset read through it) says nothing of the prefix: never a difference by absence
        prefix_known=live.caption_prefix is not None or live.caption_prefix_answered,
        check_continuation=not live.visual_schema,
    )
    if live.status != "draft" and edits.stale:
        # a completed dataset is never cloned for stale captions alone (nothing would stop the
        # clones); when it is cloned anyway, the clone's captions are regenerated
        stale, edits.stale = edits.stale, []
        if edits.content_differs:
            edits.stale = stale
    steps = StepList(address)
    _record_adoption(scope, desired, edits)
    adopted = adoption_note(edits.adoption, desired.lock_file)
    start: str | None = None
    ref = scope.index.dataset_ref(live)
    notes: list[str] = []
    drift = bool(edits.regenerate)
    if renamed_from is not None:
        ref = scope.index.dataset_ref(live, desired.name)
        start = steps.add(
            UpdateDataset(**steps.head("rename"), dataset=ref, fields={"name": desired.name})
        )
        note, console = rename_note("dataset", scope.name, desired.name, live.name, scope.history)
        notes.append(note)
        drift = drift or console
    if live.status == "completed" and edits.content_differs:
        return _clone(scope, desired, steps, live, start, edits, notes, drift, adopted)
    parts = edits.summary_parts()
    add_edit_steps(steps, ref, start, edits)
    complete_key = None
    if live.status == "draft" and desired.status == "completed":
        complete_key = _complete(steps, ref)
        parts.append("then complete it" if parts else "complete it (its content matches)")
    status_after = "completed" if complete_key or live.status == "completed" else "draft"
    outcome = DatasetOutcome(desired.name, ref, live.id, False, complete_key, status_after)
    updated = bool(steps) or (bool(parts) and live.status == "draft")
    if parts and live.status == "draft":
        notes.append(f"dataset '{ref.remote_name}' is a draft: " + ", ".join(parts))
    if not updated:
        if live.status == "completed" and desired.status == "draft":
            reason = (
                "dataset is completed; a completed dataset cannot return to draft (change its "
                "content to start a new draft version)"
            )
        else:
            reason = f"dataset '{live.name}' matches the manifest ({live.status})"
        if adopted:
            reason += f"; {adopted}"
        return Change(address=address, action="noop", reason=reason, drift=drift), outcome
    change = Change(
        address=address,
        action="update",
        reason="; ".join([*notes, *([adopted] if adopted else [])]),
        before=_before(live),
        after=_after(ref.remote_name, status_after, desired, live, edits),
        drift=drift,
        warnings=_unrecognised(edits),
        steps=tuple(steps.steps),
        images=_review(desired, live, edits),
    )
    return change, outcome


def _ambiguous(
    scope: ProjectScope,
    desired: DesiredDataset,
    address: str,
    twins: list[LiveDataset],
    out: _Collected,
) -> tuple[Change, DatasetOutcome]:
    """Two live datasets carry the current version's name: refuse rather than guess."""
    live = twins[-1]
    out.claimed.update(d.id for d in twins)
    listed = "; ".join(f"id {d.id}: {_dataset_content(d)}" for d in twins)
    orphans = [d.id for d in twins if d.status == "draft" and d.images == () and not d.models]
    scope.result.errors.append(
        f"dataset '{live.name}' exists {len(twins)} times in project '{scope.name}' in Bria "
        f"({listed}), so the plan cannot tell which one the manifest means: "
        + orphan_advice(orphans, len(twins), "datasets")
    )
    outcome = DatasetOutcome(
        desired.name,
        scope.index.dataset_ref(live),
        live.id,
        False,
        None,
        live.status,
        ambiguous=True,
    )
    reason = "not compared: its name is ambiguous in Bria"
    return Change(address=address, action="noop", reason=reason), outcome


def _dataset_content(dataset: LiveDataset) -> str:
    images = "images not read" if dataset.images is None else plural(len(dataset.images), "image")
    models = [m for m in dataset.models if m.status != "Deleted"]
    return f"{dataset.status}, {images}, {plural(len(models), 'model') if models else 'no models'}"


def _create(scope: ProjectScope, desired: DesiredDataset) -> tuple[Change, DatasetOutcome]:
    address = scope.address("dataset", desired.name)
    ref = scope.index.new_dataset_ref(desired.name)
    steps = StepList(address)
    created = steps.add(
        CreateDataset(
            **steps.head("create", scope.ready_key),
            project=scope.project_ref(),
            dataset=ref,
            upload_type=desired.upload_type,
        )
    )
    edits = compare_images(desired, (), None, None)
    add_edit_steps(steps, ref, created, edits)
    parts = ["create it"]
    if edits.new_prefix is not None:
        parts.append("set its caption prefix")
    if edits.new_schema is not None:
        parts.append("set its visual schema")
    parts.append(f"upload {plural(len(edits.uploads), 'image')}")
    captions = sum(1 for image in desired.images if image.caption is not None)
    if captions:
        parts.append(f"set {plural(captions, 'caption')}")
    complete_key = None
    if desired.status == "completed":
        complete_key = _complete(steps, ref)
        parts.append("then complete it")
    change = Change(
        address=address,
        action="create",
        reason=f"dataset '{desired.name}' does not exist: " + ", ".join(parts),
        after=_after(desired.name, desired.status, desired, None, edits),
        steps=tuple(steps.steps),
        images=_review(desired, None, edits),
    )
    return change, DatasetOutcome(desired.name, ref, None, True, complete_key, desired.status)


def _clone(
    scope: ProjectScope,
    desired: DesiredDataset,
    steps: StepList,
    live: LiveDataset,
    start: str | None,
    edits: ImageEdits,
    notes: list[str],
    drift: bool,
    adopted: str | None,
) -> tuple[Change, DatasetOutcome]:
    source = scope.index.dataset_ref(live, desired.name if start else None)
    new_name = scope.index.next_dataset_name(desired.name)
    if new_name == source.remote_name:  # renamed back to version 1 in this plan: clone as 2
        new_name = versioned_name(desired.name, 2)
    clone = scope.index.new_dataset_ref(new_name)
    cloned = steps.add(CloneDataset(**steps.head("clone", start), source=source, dataset=clone))
    add_edit_steps(steps, clone, cloned, edits, fresh_clone=True)
    complete_key = None
    parts = edits.summary_parts()
    if desired.status == "completed":
        complete_key = _complete(steps, clone)
        parts.append("then complete it")
    else:
        parts.append("and leave it a draft (models wait until it is completed)")
    notes.append(
        f"dataset '{source.remote_name}' is completed and cannot be edited: clone it as "
        f"'{new_name}', " + ", ".join(parts)
    )
    retrain = scope.models_training_on(desired.name)
    if retrain and desired.status == "completed":
        notes.append(
            f"{'model' if len(retrain) == 1 else 'models'} {quoted(retrain)} will retrain on "
            f"'{new_name}' ({TRAINING_TIME}{' each' if len(retrain) > 1 else ''})"
        )
    if adopted:
        notes.append(adopted)
    change = Change(
        address=steps.address,
        action="clone",
        reason="; ".join(notes),
        before=_before(live),
        after=_after(new_name, desired.status, desired, live, edits),
        drift=drift,
        warnings=_unrecognised(edits),
        steps=tuple(steps.steps),
        images=_review(desired, live, edits),
    )
    outcome = DatasetOutcome(
        desired.name,
        clone,
        None,
        True,
        complete_key,
        desired.status,
        previous=source.remote_name,
        previous_id=source.id,
        done_keys=tuple(steps.sinks()),
    )
    return change, outcome


def _delete(
    scope: ProjectScope, desired: DesiredDataset, out: _Collected, removed_models: frozenset[int]
) -> Change:
    address = scope.address("dataset", desired.name)
    versions = [v.dataset for v in scope.index.dataset_versions.get(desired.name, ())]
    if not versions:
        reason = f"dataset '{desired.name}' is already absent"
        return Change(address=address, action="noop", reason=reason)
    steps = StepList(address)
    models = delete_dataset_versions(
        scope, steps, versions, "marked for deletion", out, removed_models
    )
    names = [d.name for d in versions]
    reason = f"dataset '{desired.name}' is marked for deletion: delete {quoted(names)}"
    if models:
        on = "it" if len(versions) == 1 else "them"
        reason += f" and the {'model' if len(models) == 1 else 'models'} on {on}: "
        reason += describe_models(models)
    return Change(
        address=address,
        action="delete",
        reason=reason,
        before={"versions": names, "models": model_summary(models)},
        steps=tuple(steps.steps),
    )


def delete_dataset_versions(
    scope: ProjectScope,
    steps: StepList,
    versions: list[LiveDataset],
    why: str,
    out: _Collected,
    removed_models: frozenset[int],
    after: tuple[str, ...] = (),
    replacements: Mapping[int, str] = {},
) -> list[LiveModel]:
    """DeleteDataset for each version, after deleting the models on it (and after `after`);
    the models removed. Each model's deletion is a change of its own (in `out.changes`) unless
    a model change already deletes it (`removed_models`); a model this plan replaces is removed
    only once its replacement has started training (`replacements`: id -> that step's key)."""
    removed: list[LiveModel] = []
    for dataset in versions:
        out.claimed.add(dataset.id)
        models = scope.index.models_on(dataset)
        waits: list[str | None] = []
        for model in models:
            if model.id in removed_models or model.id in out.removed_models:
                waits.append(model_key(model.id, "delete"))
                continue
            change = scope.delete_model_with_dataset(
                model, dataset.name, why, (replacements.get(model.id),)
            )
            out.changes.append(change)
            out.removed_models.add(model.id)
            waits.append(model_key(model.id, "delete"))
        removed += models
        steps.add(
            DeleteDataset(
                **steps.head(f"delete:{dataset.name}#{dataset.id}", *after, *waits),
                dataset=scope.index.dataset_ref(dataset),
            )
        )
    return removed


def _before(live: LiveDataset) -> dict[str, Any]:
    before: dict[str, Any] = {
        "version": live.name,
        "status": live.status,
        "caption_prefix": live.caption_prefix,
        "image_count": len(live.images or ()),
    }
    if live.visual_schema is not None:  # the current generation's, only when it is one
        before["visual_schema"] = live.visual_schema
        if live.caption_prefix is None:
            del before["caption_prefix"]
    return before


def _after(
    name: str, status: str, desired: DesiredDataset, live: LiveDataset | None, edits: ImageEdits
) -> dict[str, Any]:
    prefix = desired.caption_prefix
    if prefix is None and live is not None:
        prefix = live.caption_prefix
    schema = desired.visual_schema
    if schema is None and live is not None:
        schema = live.visual_schema
    # the current generation's visual schema instead of a caption prefix it does not have
    generation = {"caption_prefix": prefix} if schema is None else {"visual_schema": schema}
    if schema is not None and prefix is not None:
        generation = {"caption_prefix": prefix, "visual_schema": schema}
    return {
        "version": name,
        "status": status,
        **generation,
        "image_count": len(desired.images),
        "images_added": list(edits.added),
        "images_changed": list(edits.changed),
        "images_removed": list(edits.removed),
        "caption_changes": list(edits.caption_changes),
    }


def _complete(steps: StepList, dataset: Ref) -> str:
    """Mark the dataset completed once every other step of its change is done."""
    return steps.add(
        UpdateDataset(
            **steps.head("complete", *steps.sinks()),
            dataset=dataset,
            fields={"status": "completed"},
        )
    )


def _review(
    desired: DesiredDataset, live: LiveDataset | None, edits: ImageEdits
) -> tuple[ImageReview, ...]:
    images = live.images or () if live else ()
    adoption = edits.adoption
    matched = {
        **{live_id: (image.file_name, True) for live_id, image in adoption.kept.items()},
        **{live_id: (file, False) for live_id, file in adoption.replaced.items()},
        **{live_id: (file, False) for live_id, file in adoption.gone.items()},
    }
    return review_images(
        desired,
        images,
        edits.caption_changes,
        prefix_changes=edits.recaptions,
        matched=matched,
    )


def _record_adoption(scope: ProjectScope, desired: DesiredDataset, edits: ImageEdits) -> None:
    """When what adoption trusts differs from the lock, the plan says to rewrite the lock."""
    after = edits.adoption.lock_after
    if desired.adopt and desired.lock_file and set(after) != set(desired.adopted):
        key = dataset_key(desired.project, desired.name)
        scope.result.lock_updates.append(LockUpdate(desired.lock_file, key, after))


def _unrecognised(edits: ImageEdits) -> tuple[str, ...]:
    if not edits.unrecognised:
        return ()
    more = len(edits.unrecognised) - 10
    return (
        f"removes {plural(len(edits.unrecognised), 'image')} the reconciler did not upload "
        f"(their names carry no content digest): {quoted(edits.unrecognised[:10])}"
        + (f" and {more} more" if more > 0 else ""),
    )
