"""`metadata.protect: true` (Pulumi's `protect`): the plan refuses to delete a protected resource,
whatever path would delete it (its own `metadata.delete`, `--prune`, a dataset or project deleted
or replaced around it). A trained model costs hours; `reconciler import` marks every Completed
model it imports protected, so no later edit retrains or deletes it by surprise. A resource is its
every version: pruning `lora-light~1` deletes the protected model `lora-light` as much as
`metadata.delete` does.

A model's replacement is refused where it is decided (`reconciler.diff.models`), since only there
the reason is known; deletions can come from many phases, so they are checked here once, over the
finished changes of a project: every DeleteProject, DeleteDataset and DeleteModel step whose
target is protected is one located error line saying why and how to lift it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.diff.live_index import ProjectIndex
from reconciler.state import DesiredProject, ModelStatus, Source
from reconciler.steps import Change, DeleteDataset, DeleteModel, DeleteProject

LIFT = "remove metadata.protect from its manifest first if it really should go"


@dataclass(frozen=True)
class _Guarded:
    label: str  # `model 'lora/lora-light'`
    protected: Source
    marked_for_deletion: bool


def protected_refusal(label: str, protected: Source, what: str, lift: str = LIFT) -> str:
    """The one line: where the flag is, what is protected, what the plan would do, the fix."""
    return f"{protected}: {label} is protected (metadata.protect: true): {what}; {lift}"


def protection_errors(
    project: DesiredProject,
    index: ProjectIndex,
    datasets: Iterable[tuple[str, Source | None, bool]],
    models: Iterable[tuple[str, Source | None, bool]],
    changes: Iterable[Change],
) -> list[str]:
    """The refusals for `changes` of one project. `datasets`/`models`: (name, protected,
    marked for deletion) of the declared ones; `index`: the project's live index as read (before
    a replacement hides it)."""
    guarded_datasets: dict[int, _Guarded] = {}
    for name, protected, delete in datasets:
        if protected is None:
            continue
        for dataset_version in index.dataset_versions.get(name, ()):
            label = f"dataset '{project.name}/{dataset_version.dataset.name}'"
            guarded_datasets[dataset_version.dataset.id] = _Guarded(label, protected, delete)
    guarded_models: dict[int, _Guarded] = {}
    for name, protected, delete in models:
        if protected is None:
            continue
        for version in index.model_versions.get(name, ()):
            if version.model.status != ModelStatus.DELETED:
                label = f"model '{project.name}/{version.model.name}'"
                guarded_models[version.model.id] = _Guarded(label, protected, delete)
    errors: list[str] = []
    for change in changes:
        for step in change.steps:
            guarded: _Guarded | None = None
            if isinstance(step, DeleteModel) and step.model.id is not None:
                guarded = guarded_models.get(step.model.id)
            elif isinstance(step, DeleteDataset) and step.dataset.id is not None:
                guarded = guarded_datasets.get(step.dataset.id)
            elif isinstance(step, DeleteProject):
                errors += _project_refusals(project, guarded_datasets, guarded_models)
                continue
            if guarded is None:
                continue
            lift = LIFT
            if guarded.marked_for_deletion:
                what = "the plan refuses to delete it, and the manifest marks it for deletion"
                lift = "remove metadata.protect (to delete it) or metadata.delete (to keep it)"
            elif isinstance(step, DeleteModel) and "with its dataset" in change.reason:
                on = change.before.get("dataset") if change.before else None
                what = f"the plan would delete it with its dataset '{on}'"
            else:
                what = f"the plan would delete it ({_why(change)})"
            errors.append(protected_refusal(guarded.label, guarded.protected, what, lift))
    return list(dict.fromkeys(errors))


def _project_refusals(
    project: DesiredProject,
    datasets: dict[int, _Guarded],
    models: dict[int, _Guarded],
) -> list[str]:
    how = "marked for deletion" if project.delete else "replaced (metadata.allowReplace)"
    errors = []
    if project.protected is not None:
        what = f"the plan would delete it (it is {how})"
        errors.append(protected_refusal(f"project '{project.name}'", project.protected, what))
    for guarded in [*datasets.values(), *models.values()]:
        what = f"the plan would delete it with project '{project.name}' ({how})"
        errors.append(protected_refusal(guarded.label, guarded.protected, what))
    return errors


def _why(change: Change) -> str:
    """`--prune` or what the change is, in a few words."""
    if "--prune" in change.reason:
        return "--prune"
    return f"{change.action} of '{change.address}'"
