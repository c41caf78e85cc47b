"""Declared datasets: create, edit a draft in place, clone a completed one, delete, or repair a
rename made in the console.

A completed dataset is immutable in Bria, so when its content must change the plan clones it as
the next version (`lora-v1~2`), edits the clone and completes it; the models on it are then
replaced by the model diff. The comparison is always against the current (highest) version; older
versions are left to `reconciler.diff.prune`.
"""

from __future__ import annotations

from typing import Any

from reconciler.diff.changes import TRAINING_TIME, PlannedChange, plural, quoted
from reconciler.diff.images import ImageEdits, add_edit_steps, compare_images
from reconciler.diff.scope import DatasetOutcome, ProjectScope, describe_models, model_summary
from reconciler.image_review import ImageReview, review_images
from reconciler.naming import DIGEST_LEN, parse_image_remote_name, versioned_name
from reconciler.state import DesiredDataset, LiveDataset
from reconciler.steps import CloneDataset, CreateDataset, DeleteDataset, Ref, UpdateDataset


def diff_dataset(
    scope: ProjectScope, desired: DesiredDataset, renamed_from: LiveDataset | None = None
) -> PlannedChange:
    """The change for one declared dataset; records its outcome in `scope.outcomes`."""
    if desired.delete:
        return _delete(scope, desired)
    current = scope.index.current_dataset(desired.name)
    live = current.dataset if current else renamed_from
    if live is None:
        return _create(scope, desired)
    scope.index.claimed_datasets.add(live.id)
    address = scope.address("dataset", desired.name)
    twins = scope.index.twin_datasets(desired.name)
    if len(twins) > 1:
        return _ambiguous(scope, desired, address, twins)
    if live.images is None:
        scope.result.errors.append(
            f"dataset '{scope.name}/{live.name}': its images were not read from Bria, so it "
            "cannot be compared (this is a bug in reading the live state; please report it)"
        )
        scope.outcomes[desired.name] = DatasetOutcome(
            desired.name, scope.index.dataset_ref(live), live.id, False, None, live.status
        )
        return PlannedChange(address, "noop", "not compared: its images were not read")
    edits = compare_images(desired, live.images, live.caption_prefix)
    change = PlannedChange(address, "noop", "", before=_before(live))
    start: str | None = None
    ref = scope.index.dataset_ref(live)
    notes: list[str] = []
    if renamed_from is not None:
        ref = Ref("dataset", scope.name, desired.name, live.id)
        start = change.add("rename", UpdateDataset, dataset=ref, fields={"name": desired.name})
        change.action, change.drift = "update", True
        notes.append(
            f"dataset '{desired.name}' was renamed in the console from '{desired.name}' to "
            f"'{live.name}': rename it back"
        )
    if edits.regenerate:
        change.drift = True
    if live.status == "completed" and edits.content_differs:
        return _clone(scope, desired, change, live, ref, start, edits, notes)
    parts = edits.summary_parts()
    add_edit_steps(change, ref, start, edits)
    complete_key = None
    if live.status == "draft" and desired.status == "completed":
        complete_key = change.add(
            "complete", UpdateDataset, change.sinks(), dataset=ref, fields={"status": "completed"}
        )
        parts.append("then complete it" if parts else "complete it (its content matches)")
    status_after = "completed" if complete_key or live.status == "completed" else "draft"
    scope.outcomes[desired.name] = DatasetOutcome(
        desired.name, ref, live.id, False, complete_key, status_after
    )
    if parts and live.status == "draft":
        change.action = "update"
        notes.append(f"dataset '{ref.remote_name}' is a draft: " + ", ".join(parts))
    if change.action == "noop":
        change.before = None
        if live.status == "completed" and desired.status == "draft":
            change.reason = (
                "dataset is completed; a completed dataset cannot return to draft (change its "
                "content to start a new draft version)"
            )
        else:
            change.reason = f"dataset '{live.name}' matches the manifest ({live.status})"
        return change
    change.reason = "; ".join(notes)
    change.after = _after(ref.remote_name, status_after, desired, live, edits)
    change.images = _review(desired, live, edits)
    _warn_unrecognised(scope, change, edits)
    return change


def _ambiguous(
    scope: ProjectScope, desired: DesiredDataset, address: str, twins: list[LiveDataset]
) -> PlannedChange:
    """Two live datasets carry the current version's name: refuse rather than guess."""
    live = twins[-1]
    scope.index.claimed_datasets.update(d.id for d in twins)
    ids = ", ".join(str(d.id) for d in twins)
    scope.result.errors.append(
        f"dataset '{live.name}' exists {len(twins)} times in project '{scope.name}' in Bria "
        f"(ids {ids}), so the plan cannot tell which one the manifest means: rename or delete "
        "the extra ones in Bria's console, then plan again"
    )
    scope.outcomes[desired.name] = DatasetOutcome(
        desired.name,
        scope.index.dataset_ref(live),
        live.id,
        False,
        None,
        live.status,
        ambiguous=True,
    )
    return PlannedChange(address, "noop", "not compared: its name is ambiguous in Bria")


def _create(scope: ProjectScope, desired: DesiredDataset) -> PlannedChange:
    address = scope.address("dataset", desired.name)
    ref = Ref("dataset", scope.name, desired.name)
    change = PlannedChange(address, "create", "")
    created = change.add(
        "create", CreateDataset, [scope.ready_key], project=scope.project_ref(), dataset=ref
    )
    edits = compare_images(desired, (), None)
    add_edit_steps(change, ref, created, edits)
    parts = ["create it"]
    if edits.new_prefix is not None:
        parts.append("set its caption prefix")
    parts.append(f"upload {plural(len(edits.uploads), 'image')}")
    captions = sum(1 for image in desired.images if image.caption is not None)
    if captions:
        parts.append(f"set {plural(captions, 'caption')}")
    complete_key = None
    if desired.status == "completed":
        complete_key = change.add(
            "complete", UpdateDataset, change.sinks(), dataset=ref, fields={"status": "completed"}
        )
        parts.append("then complete it")
    change.reason = f"dataset '{desired.name}' does not exist: " + ", ".join(parts)
    change.after = _after(desired.name, desired.status, desired, None, edits)
    change.images = _review(desired, None, edits)
    scope.outcomes[desired.name] = DatasetOutcome(
        desired.name, ref, None, True, complete_key, desired.status
    )
    return change


def _clone(
    scope: ProjectScope,
    desired: DesiredDataset,
    change: PlannedChange,
    live: LiveDataset,
    source: Ref,
    start: str | None,
    edits: ImageEdits,
    notes: list[str],
) -> PlannedChange:
    new_name = scope.index.next_dataset_name(desired.name)
    if new_name == source.remote_name:  # renamed back to version 1 in this plan: clone as 2
        new_name = versioned_name(desired.name, 2)
    clone = Ref("dataset", scope.name, new_name)
    change.action = "clone"
    cloned = change.add("clone", CloneDataset, [start], source=source, dataset=clone)
    add_edit_steps(change, clone, cloned, edits)
    complete_key = None
    parts = edits.summary_parts()
    if desired.status == "completed":
        complete_key = change.add(
            "complete", UpdateDataset, change.sinks(), dataset=clone, fields={"status": "completed"}
        )
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
    change.reason = "; ".join(notes)
    change.after = _after(new_name, desired.status, desired, live, edits)
    change.images = _review(desired, live, edits)
    scope.outcomes[desired.name] = DatasetOutcome(
        desired.name,
        clone,
        None,
        True,
        complete_key,
        desired.status,
        previous=source.remote_name,
        previous_id=source.id,
        done_keys=tuple(change.sinks()),
    )
    _warn_unrecognised(scope, change, edits)
    return change


def _delete(scope: ProjectScope, desired: DesiredDataset) -> PlannedChange:
    address = scope.address("dataset", desired.name)
    versions = [v.dataset for v in scope.index.dataset_versions.get(desired.name, [])]
    if not versions:
        return PlannedChange(address, "noop", f"dataset '{desired.name}' is already absent")
    change = PlannedChange(address, "delete", "")
    models = delete_dataset_versions(scope, change, versions, "marked for deletion")
    names = [d.name for d in versions]
    reason = f"dataset '{desired.name}' is marked for deletion: delete {quoted(names)}"
    if models:
        on = "it" if len(versions) == 1 else "them"
        reason += f" and the {'model' if len(models) == 1 else 'models'} on {on}: "
        reason += describe_models(models)
    change.reason = reason
    change.before = {
        "versions": names,
        "models": model_summary(models),
    }
    return change


def delete_dataset_versions(
    scope: ProjectScope,
    change: PlannedChange,
    versions: list[LiveDataset],
    why: str,
    after: tuple[str, ...] = (),
) -> list[Any]:
    """DeleteDataset for each version, after deleting the models on it (and after `after`);
    the models removed. Each model's deletion is a change of its own (`scope.side_changes`)."""
    removed = []
    for dataset in versions:
        scope.index.claimed_datasets.add(dataset.id)
        models = scope.index.models_on(dataset)
        waits = [scope.delete_model_with_dataset(m, dataset.name, why, []) for m in models]
        removed += models
        change.add(
            f"delete:{dataset.name}#{dataset.id}",
            DeleteDataset,
            [*after, *waits],
            dataset=scope.index.dataset_ref(dataset),
        )
    return removed


def _before(live: LiveDataset) -> dict[str, Any]:
    return {
        "version": live.name,
        "status": live.status,
        "caption_prefix": live.caption_prefix,
        "image_count": len(live.images or ()),
    }


def _after(
    name: str, status: str, desired: DesiredDataset, live: LiveDataset | None, edits: ImageEdits
) -> dict[str, Any]:
    prefix = desired.caption_prefix
    if prefix is None and live is not None:
        prefix = live.caption_prefix
    return {
        "version": name,
        "status": status,
        "caption_prefix": prefix,
        "image_count": len(desired.images),
        "images_added": list(edits.added),
        "images_changed": list(edits.changed),
        "images_removed": list(edits.removed),
        "caption_changes": list(edits.caption_changes),
    }


def _review(
    desired: DesiredDataset, live: LiveDataset | None, edits: ImageEdits
) -> tuple[ImageReview, ...]:
    images = live.images or () if live else ()
    prefix_changes = edits.new_prefix is not None
    return review_images(desired, images, edits.caption_changes, prefix_changes=prefix_changes)


def _warn_unrecognised(scope: ProjectScope, change: PlannedChange, edits: ImageEdits) -> None:
    if edits.unrecognised:
        change.warnings.append(
            f"removes {plural(len(edits.unrecognised), 'image')} the reconciler did not upload "
            f"(their names carry no content digest): {quoted(edits.unrecognised[:10])}"
            + (f" and {len(edits.unrecognised) - 10} more" if len(edits.unrecognised) > 10 else "")
        )


def find_renames(scope: ProjectScope) -> dict[str, LiveDataset]:
    """Declared datasets with no version whose exact images sit in one undeclared dataset."""
    image_sets: dict[int, frozenset[tuple[str, str]]] = {}
    for live in scope.index.undeclared_datasets:
        if live.images is None:
            continue
        parsed = [parse_image_remote_name(image.image_name) for image in live.images]
        if parsed and all(p is not None for p in parsed):
            image_sets[live.id] = frozenset((p.file_name, p.digest) for p in parsed if p)
    candidates: dict[str, list[LiveDataset]] = {}
    for desired in scope.datasets:
        if desired.delete or scope.index.dataset_versions.get(desired.name):
            continue
        wanted = frozenset((i.file_name, i.digest[:DIGEST_LEN]) for i in desired.images)
        candidates[desired.name] = [
            live for live in scope.index.undeclared_datasets if image_sets.get(live.id) == wanted
        ]
    taken: dict[int, int] = {}
    for matches in candidates.values():
        for live in matches:
            taken[live.id] = taken.get(live.id, 0) + 1
    return {
        name: matches[0]
        for name, matches in candidates.items()
        if len(matches) == 1 and taken[matches[0].id] == 1
    }
