"""Pure: desired state x live state -> the changes that converge one onto the other, each with
its reason and its steps (keyed, not yet numbered; `reconciler.plan` orders and numbers them).

The walk is per declared project, sorted by name, so the result does not depend on manifest
order. Within a project: the project itself, then explicit model deletions (so a dataset's
deletion can wait for them), declared datasets, superseded and undeclared datasets, declared
models (they need to know where their dataset stands after this plan), and finally superseded
and undeclared models. Live projects no manifest declares are never changed; they are looked at
only to recognise a declared project renamed in the console (`_find_renamed_projects`).
"""

from __future__ import annotations

from collections import defaultdict

from reconciler.diff.changes import DiffResult, PlannedChange, PlannedStep
from reconciler.diff.datasets import diff_dataset, find_renames
from reconciler.diff.live_index import AddressBook, ProjectIndex
from reconciler.diff.models import diff_model, find_model_renames
from reconciler.diff.projects import diff_project
from reconciler.diff.prune import prune_datasets, prune_models
from reconciler.diff.scope import ProjectScope
from reconciler.naming import parse_versioned_name
from reconciler.state import DesiredProject, DesiredState, LiveProject, LiveState

__all__ = ["DiffResult", "PlannedChange", "PlannedStep", "diff_states"]


def diff_states(desired: DesiredState, live: LiveState, *, prune: bool = False) -> DiffResult:
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
    renamed = _find_renamed_projects(desired, live, declared)
    for project in sorted(desired.projects, key=lambda p: p.name):
        matches = sorted(live_by_name.get(project.name, []), key=lambda p: p.id)
        if len(matches) > 1:
            ids = ", ".join(str(p.id) for p in matches)
            result.errors.append(
                f"project '{project.name}' exists {len(matches)} times in Bria (ids {ids}), so "
                "the manifest cannot say which one it means: rename or delete the extra ones in "
                "the console"
            )
            continue
        current = matches[0] if matches else None
        if current is None and not project.delete:
            current = renamed.get(project.name)
        _diff_project_tree(result, addresses, project, current, desired, prune)
    return result


def _find_renamed_projects(
    desired: DesiredState, live: LiveState, declared: set[str]
) -> dict[str, LiveProject]:
    """Declared projects missing from Bria that an undeclared live project evidently is, renamed
    in the console: same ip_type and ip_medium, the manifest's ip_name/ip_description, and
    datasets or models under the manifest's names. Only unambiguous pairs count."""
    present = {p.project_name for p in live.projects}
    found: dict[str, list[LiveProject]] = defaultdict(list)
    for project in desired.projects:
        if project.name in present or project.delete:
            continue
        datasets = {d.name for d in desired.datasets if d.project == project.name}
        models = {m.name for m in desired.models if m.project == project.name}
        for candidate in live.projects:
            if candidate.project_name in declared or candidate.datasets is None:
                continue
            if (candidate.ip_type, candidate.ip_medium) != (project.ip_type, project.ip_medium):
                continue
            if project.ip_name is not None and candidate.ip_name != project.ip_name:
                continue
            if project.ip_description is not None and (
                candidate.ip_description != project.ip_description
            ):
                continue
            if _holds(candidate, datasets, models):
                found[project.name].append(candidate)
    claims: dict[int, int] = defaultdict(int)
    for candidates in found.values():
        for candidate in candidates:
            claims[candidate.id] += 1
    return {
        name: candidates[0]
        for name, candidates in found.items()
        if len(candidates) == 1 and claims[candidates[0].id] == 1
    }


def _holds(project: LiveProject, datasets: set[str], models: set[str]) -> bool:
    for dataset in project.datasets or ():
        parsed = parse_versioned_name(dataset.name)
        if parsed is not None and parsed.base in datasets:
            return True
        for model in dataset.models:
            parsed = parse_versioned_name(model.name)
            if parsed is not None and parsed.base in models:
                return True
    return False


def _diff_project_tree(
    result: DiffResult,
    addresses: AddressBook,
    desired_project: DesiredProject,
    live: LiveProject | None,
    desired: DesiredState,
    prune: bool,
) -> None:
    name = desired_project.name
    datasets = sorted((d for d in desired.datasets if d.project == name), key=lambda d: d.name)
    models = sorted((m for m in desired.models if m.project == name), key=lambda m: m.name)
    dataset_names = [d.name for d in datasets]
    model_names = [m.name for m in models]
    if live is not None and live.datasets is None and not desired_project.delete:
        result.errors.append(
            f"project '{name}': its datasets were not read from Bria, so it cannot be compared "
            "(this is a bug in reading the live state; please report it)"
        )
        return
    index = ProjectIndex.build(name, live, dataset_names, model_names)
    scope = ProjectScope(name, index, addresses, result, prune, datasets=datasets, models=models)
    project = diff_project(scope, desired_project)
    changes: list[PlannedChange] = [project.change] if project.change else []
    if project.mode == "deleted":
        result.changes += changes
        return
    if project.mode == "replaced":
        scope.index = ProjectIndex.build(name, None, dataset_names, model_names)
    # Explicit model deletions first: they own those models, a dataset's deletion waits for them.
    deletions = [diff_model(scope, m) for m in models if m.delete]
    renames = find_renames(scope)
    changes += [diff_dataset(scope, d, renames.get(d.name)) for d in datasets]
    changes += prune_datasets(scope)
    model_renames = find_model_renames(scope)
    changes += deletions
    changes += [diff_model(scope, m, model_renames.get(m.name)) for m in models if not m.delete]
    changes += prune_models(scope)
    changes += scope.side_changes
    result.changes += sorted(changes, key=_change_order)


def _change_order(change: PlannedChange) -> tuple[int, str]:
    kind = change.address.split(".", 1)[0]
    return ({"project": 0, "dataset": 1, "model": 2}[kind], change.address)
