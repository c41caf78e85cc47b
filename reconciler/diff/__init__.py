"""Pure: desired state x live state -> the changes that converge one onto the other, each with
its reason and its typed steps (keyed, not yet numbered; `reconciler.plan` orders and numbers
them).

The walk is per declared project, sorted by name, so the result does not depend on manifest
order. Within a project the phases run in `_diff_project_tree`, each taking what the earlier ones
decided as arguments (SQLMesh's `PlanBuilder.build` style), so moving a line cannot silently
change a plan: the project itself; explicit model deletions (so a dataset's deletion can wait
for them); declared datasets; declared models (they need to know where their dataset stands
after this plan, and which of them go with a pruned dataset); superseded and undeclared
datasets (their models' deletion waits for the replacements to start: create before destroy);
superseded and undeclared models. Live projects no manifest declares are never changed; they
are looked at only to recognise a declared project renamed in the console
(`reconciler.diff.renames`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.diff.changes import DiffResult, orphan_advice, plural
from reconciler.diff.datasets import diff_datasets
from reconciler.diff.generations import lock_warnings
from reconciler.diff.live_index import AddressBook, ProjectIndex
from reconciler.diff.models import delete_declared_models, diff_models
from reconciler.diff.projects import diff_project
from reconciler.diff.protection import protection_errors
from reconciler.diff.prune import (
    last_completed_versions,
    models_on_pruned_datasets,
    prune_datasets,
    prune_models,
)
from reconciler.diff.renames import find_dataset_renames, find_model_renames, find_renamed_projects
from reconciler.diff.scope import ProjectScope
from reconciler.state import (
    DesiredDataset,
    DesiredModel,
    DesiredProject,
    DesiredState,
    LiveProject,
    LiveState,
)
from reconciler.steps import Change
from reconciler.training_hours import HoursRange, training_hours

__all__ = ["DiffResult", "diff_states"]


def diff_states(
    desired: DesiredState,
    live: LiveState,
    *,
    prune: bool = False,
    history: frozenset[str] | None = None,
    keep_superseded: bool = False,
    now: float | None = None,
) -> DiffResult:
    """`history`: the names earlier plans saw declared (`reconciler.name_history`), used only to
    word renames (made in the manifest, or in the console). `keep_superseded`: superseded
    versions still training keep running (else they are stopped). `now`: the time, for how long
    a training has left (None in pure tests: "up to N h")."""
    spend = _Spend(keep_superseded, training_hours(live), now)
    result = DiffResult()
    addresses = AddressBook()
    live_by_name: dict[str, list[LiveProject]] = defaultdict(list)
    for live_project in live.projects:
        live_by_name[live_project.project_name].append(live_project)
    declared = {p.name for p in desired.projects}
    children = [("dataset", d.project, d.name) for d in desired.datasets]
    children += [("model", m.project, m.name) for m in desired.models]
    for kind, project_name, name in sorted(children, key=lambda c: (c[1], c[0], c[2])):
        if project_name not in declared:
            result.errors.append(
                f"{kind} '{name}' refers to project '{project_name}', which no manifest "
                "declares: declare the project or fix the reference"
            )
    renamed = find_renamed_projects(desired, live_by_name)
    for project in sorted(desired.projects, key=lambda p: p.name):
        matches = sorted(live_by_name.get(project.name, []), key=lambda p: p.id)
        if len(matches) > 1:
            listed = "; ".join(f"id {p.id}: {_project_content(p)}" for p in matches)
            orphans = [p.id for p in matches if p.datasets == ()]
            result.errors.append(
                f"project '{project.name}' exists {len(matches)} times in Bria ({listed}), so "
                "the manifest cannot say which one it means: "
                + orphan_advice(orphans, len(matches), "projects")
            )
            continue
        current = matches[0] if matches else None
        if current is None and not project.delete:
            current = renamed.get(project.name)
        result.changes += _diff_project_tree(
            result, addresses, project, current, desired, prune, history, spend
        )
    return result


@dataclass(frozen=True)
class _Spend:
    """What the diff knows of training spend: keep superseded trainings, durations, the time."""

    keep_superseded: bool
    hours: Mapping[str, HoursRange]
    now: float | None


def _diff_project_tree(
    result: DiffResult,
    addresses: AddressBook,
    desired_project: DesiredProject,
    live: LiveProject | None,
    desired: DesiredState,
    prune: bool,
    history: frozenset[str] | None,
    spend: _Spend,
) -> list[Change]:
    name = desired_project.name
    datasets = tuple(
        sorted((d for d in desired.datasets if d.project == name), key=lambda d: d.name)
    )
    models = tuple(sorted((m for m in desired.models if m.project == name), key=lambda m: m.name))
    dataset_names = [d.name for d in datasets]
    model_names = [m.name for m in models]
    if live is not None and live.datasets is None and not desired_project.delete:
        result.errors.append(
            f"project '{name}': its datasets were not read from Bria, so it cannot be compared "
            "(this is a bug in reading the live state; please report it)"
        )
        return []
    index = ProjectIndex.build(name, live, dataset_names, model_names)
    scope = ProjectScope(
        name,
        index,
        addresses,
        result,
        prune,
        None,
        datasets,
        models,
        history,
        keep_superseded=spend.keep_superseded,
        hours=spend.hours,
        now=spend.now,
    )
    project = diff_project(scope, desired_project)
    changes: list[Change] = [project.change] if project.change else []
    read_index = index
    if project.mode == "deleted":
        return _guarded(result, desired_project, read_index, datasets, models, changes)
    if project.mode == "replaced":
        index = ProjectIndex.build(name, None, dataset_names, model_names)
    scope = dataclasses.replace(scope, index=index, ready_key=project.ready_key)
    deletions = delete_declared_models(scope)
    declared = diff_datasets(scope, find_dataset_renames(scope), deletions.claimed)
    removed = deletions.claimed | declared.removed_models
    last_good = last_completed_versions(scope)
    doomed = models_on_pruned_datasets(scope, declared, last_good)
    renames = find_model_renames(scope, declared.outcomes)
    trained = diff_models(scope, declared.outcomes, renames, doomed, last_good, removed)
    pruned, pruned_models = prune_datasets(scope, declared, trained, removed, last_good)
    removed |= pruned_models
    claimed = dataclasses.replace(trained, claimed=trained.claimed | deletions.claimed)
    changes += [*deletions.changes, *declared.changes, *trained.changes, *pruned]
    changes += prune_models(scope, claimed, removed, last_good)
    lock = live.training_version if live is not None and project.mode != "replaced" else None
    result.warnings += lock_warnings(name, lock, [step for c in changes for step in c.steps])
    return _guarded(
        result, desired_project, read_index, datasets, models, sorted(changes, key=_change_order)
    )


def _guarded(
    result: DiffResult,
    project: DesiredProject,
    index: ProjectIndex,
    datasets: tuple[DesiredDataset, ...],
    models: tuple[DesiredModel, ...],
    changes: list[Change],
) -> list[Change]:
    """`changes`, after adding a refusal for each protected resource they would delete."""
    result.errors += protection_errors(
        project,
        index,
        [(d.name, d.protected, d.delete) for d in datasets],
        [(m.name, m.protected, m.delete) for m in models],
        changes,
    )
    return changes


def _change_order(change: Change) -> tuple[int, str]:
    kind = change.address.split(".", 1)[0]
    return ({"project": 0, "dataset": 1, "model": 2}[kind], change.address)


def _project_content(project: LiveProject) -> str:
    if project.datasets is None:
        return "datasets not read"
    return plural(len(project.datasets), "dataset") if project.datasets else "no datasets"
