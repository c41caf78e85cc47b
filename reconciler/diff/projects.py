"""Declared projects: create, update in place, delete, or replace when the API cannot change a
field in place.

`ip_type` and `ip_medium` cannot be updated by the API. Changing them means deleting the project
with everything in it (hours of training included), so the plan refuses unless the manifest says
`metadata.allowReplace: true`, and then spells out everything that goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reconciler.diff.changes import StepList, model_key, plural, quoted
from reconciler.diff.live_index import ProjectIndex
from reconciler.diff.renames import manifest_rename_note, renamed_in_manifest
from reconciler.diff.scope import ProjectScope, describe_models, model_summary
from reconciler.state import (
    TRAINING_STATUSES,
    DesiredProject,
    LiveModel,
    LiveProject,
    ModelStatus,
)
from reconciler.steps import Change, CreateProject, DeleteProject, Ref, StopTraining, UpdateProject

Mode = Literal["present", "created", "replaced", "deleted", "absent"]
UPDATABLE = (
    ("project_description", "description"),
    ("ip_name", "ip_name"),
    ("ip_description", "ip_description"),
)


@dataclass(frozen=True)
class ProjectDiff:
    change: Change | None
    mode: Mode  # how the children are diffed: against live, against nothing, or not at all
    ready_key: str | None = None  # the CreateProject step children wait for, if any


def diff_project(scope: ProjectScope, desired: DesiredProject) -> ProjectDiff:
    live = scope.index.live
    address = scope.addresses.take(f"project.{desired.name}")
    if desired.delete:
        if live is None:
            reason = f"project '{desired.name}' is already absent"
            return ProjectDiff(Change(address=address, action="noop", reason=reason), "deleted")
        return ProjectDiff(_delete(scope, address, live), "deleted")
    if live is None:
        steps = StepList(address)
        fields = create_fields(desired)
        created = steps.add(
            CreateProject(**steps.head("create"), project=scope.project_ref(), fields=fields)
        )
        change = Change(
            address=address,
            action="create",
            reason=f"project '{desired.name}' does not exist: create it",
            after=dict(fields),
            steps=tuple(steps.steps),
        )
        return ProjectDiff(change, "created", created)
    fixed = [
        (name, getattr(live, name), getattr(desired, name))
        for name in ("ip_type", "ip_medium")
        if getattr(live, name) != getattr(desired, name)
    ]
    if fixed:
        if not desired.allow_replace:
            scope.result.errors.append(_refusal(scope.index, desired.name, fixed))
            return ProjectDiff(None, "present")
        return _replace(scope, address, desired, live, fixed)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if live.project_name != desired.name:  # recognised by its contents: renamed
        before["project_name"], after["project_name"] = live.project_name, desired.name
    for remote, local in UPDATABLE:
        wanted = getattr(desired, local)
        if wanted is not None and wanted != getattr(live, remote):
            before[remote], after[remote] = getattr(live, remote), wanted
    if not after:
        reason = f"project '{desired.name}' matches the manifest"
        return ProjectDiff(Change(address=address, action="noop", reason=reason), "present")
    reason = (
        f"project '{desired.name}' differs from the manifest in {', '.join(after)}: update "
        f"{'it' if len(after) == 1 else 'them'} in place"
    )
    drift = True
    if "project_name" in after:
        others = [name for name in after if name != "project_name"]
        also = f", and update {', '.join(others)}" if others else ""
        if renamed_in_manifest(
            "project", desired.name, desired.name, live.project_name, scope.history
        ):
            drift = bool(others)
            reason = manifest_rename_note("project", desired.name, live.project_name) + also
        else:
            reason = (
                f"project '{desired.name}' was renamed in the console to '{live.project_name}' "
                "(same ip_type, ip_medium and contents): rename it back" + also
            )
    steps = StepList(address)
    steps.add(
        UpdateProject(**steps.head("update"), project=scope.project_ref(), fields=dict(after))
    )
    change = Change(
        address=address,
        action="update",
        reason=reason,
        before=before,
        after=after,
        drift=drift,
        steps=tuple(steps.steps),
    )
    return ProjectDiff(change, "present")


def create_fields(desired: DesiredProject) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "project_name": desired.name,
        "ip_type": desired.ip_type,
        "ip_medium": desired.ip_medium,
    }
    for remote, local in UPDATABLE:
        value = getattr(desired, local)
        if value is not None:
            fields[remote] = value
    return fields


def _contents(index: ProjectIndex) -> tuple[list[str], list[LiveModel]]:
    live = index.live
    datasets = sorted(d.name for d in (live.datasets or ())) if live else []
    models = [e.model for e in index.all_models() if e.model.status != ModelStatus.DELETED]
    return datasets, models


def _stop_and_delete(scope: ProjectScope, steps: StepList, models: list[LiveModel]) -> str:
    stops = [
        steps.add(
            StopTraining(**steps.keyed(model_key(m.id, "stop")), model=scope.index.model_ref(m))
        )
        for m in models
        if m.status in TRAINING_STATUSES
    ]
    return steps.add(DeleteProject(**steps.head("delete", *stops), project=scope.project_ref()))


def _what_goes(scope: ProjectScope, datasets: list[str], models: list[LiveModel]) -> str:
    text = f"its {plural(len(datasets), 'dataset')}"
    if datasets:
        text += f" ({quoted(datasets)})"
    text += f" and {plural(len(models), 'model')}"
    if models:
        text += f" ({describe_models(models)})"
    for model in models:
        if model.status == ModelStatus.COMPLETED:
            scope.result.warnings.append(
                f"completed model '{scope.name}/{model.name}' will be deleted with its project "
                "(its training is lost)"
            )
    return text


def _delete(scope: ProjectScope, address: str, live: LiveProject) -> Change:
    datasets, models = _contents(scope.index)
    steps = StepList(address)
    _stop_and_delete(scope, steps, models)
    return Change(
        address=address,
        action="delete",
        reason=f"project '{live.project_name}' is marked for deletion: delete it with "
        + _what_goes(scope, datasets, models),
        before=_before(live, datasets, models),
        steps=tuple(steps.steps),
    )


def _before(live: LiveProject, datasets: list[str], models: list[LiveModel]) -> dict[str, Any]:
    return {
        "project_name": live.project_name,
        "ip_type": live.ip_type,
        "ip_medium": live.ip_medium,
        "datasets": datasets,
        "models": model_summary(models),
    }


def _refusal(index: ProjectIndex, name: str, fixed: list[tuple[str, Any, Any]]) -> str:
    datasets, models = _contents(index)
    completed = sum(1 for m in models if m.status == ModelStatus.COMPLETED)
    what = " and ".join(f"{field} cannot change from {old} to {new}" for field, old, new in fixed)
    return (
        f"project '{name}': {what} in place; set metadata.allowReplace: true to delete the "
        f"project with its {plural(len(datasets), 'dataset')} and {plural(len(models), 'model')} "
        f"({plural(completed, 'completed model')}) and recreate it"
    )


def _replace(
    scope: ProjectScope,
    address: str,
    desired: DesiredProject,
    live: LiveProject,
    fixed: list[tuple[str, Any, Any]],
) -> ProjectDiff:
    datasets, models = _contents(scope.index)
    steps = StepList(address)
    deleted = _stop_and_delete(scope, steps, models)
    fields = create_fields(desired)
    new_project = Ref("project", desired.name, desired.name)
    created = steps.add(
        CreateProject(**steps.head("create", deleted), project=new_project, fields=fields)
    )
    what = " and ".join(f"{field} changes from {old} to {new}" for field, old, new in fixed)
    change = Change(
        address=address,
        action="replace",
        reason=(
            f"project '{desired.name}': {what}, which the API cannot do in place: delete the "
            f"project with {_what_goes(scope, datasets, models)}, then recreate it and "
            "everything the manifests declare in it (models train again from scratch)"
        ),
        before=_before(live, datasets, models),
        after=dict(fields),
        steps=tuple(steps.steps),
    )
    return ProjectDiff(change, "replaced", created)
