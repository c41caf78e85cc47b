"""Renamed resources, recognised by what they hold rather than by name.

Three finders, one rule: a declared resource with no live counterpart under its name is matched
with the live resources no manifest declares that evidently are it (a dataset with exactly its
images, a model on its dataset with its training_version, a project with its ip fields holding
its datasets or models), and only pairs that are unambiguous both ways count (`unambiguous`):
one candidate for the declared resource, and no other declared resource claiming it.

Either side may have been renamed: the manifest (a reviewed change: "renamed in the manifest
...: rename it in Bria", not drift) or Bria's console (drift: "rename it back"). The steps are
the same; `renamed_in_manifest` decides the wording from the old name: a name no manifest could
declare was typed in the console; otherwise the names this working copy declared before
(`reconciler.name_history`) tell, and without them it is the manifest's rename.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import TypeVar

from reconciler.diff.generations import desired_training, live_training
from reconciler.diff.live_index import ModelVersion
from reconciler.diff.scope import DatasetOutcome, ProjectScope
from reconciler.manifest.documents import NAME_PATTERN
from reconciler.naming import DIGEST_LEN, parse_image_remote_name, parse_versioned_name
from reconciler.state import DEAD_STATUSES, DesiredState, LiveDataset, LiveProject

K = TypeVar("K")
V = TypeVar("V")


def unambiguous(candidates: Mapping[K, list[V]], identity: Callable[[V], int]) -> dict[K, V]:
    """The pairs where the declared resource has one candidate that no other one claims."""
    claims = Counter(identity(c) for matches in candidates.values() for c in matches)
    return {
        name: matches[0]
        for name, matches in candidates.items()
        if len(matches) == 1 and claims[identity(matches[0])] == 1
    }


def find_dataset_renames(scope: ProjectScope) -> dict[str, LiveDataset]:
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
    return unambiguous(candidates, lambda live: live.id)


def find_model_renames(
    scope: ProjectScope, outcomes: Mapping[str, DatasetOutcome]
) -> dict[str, ModelVersion]:
    """Declared models with no version, and exactly one foreign-named model that fits them."""
    candidates: dict[str, list[ModelVersion]] = {}
    for desired in scope.models:
        if desired.delete or scope.index.model_versions.get(desired.name):
            continue
        outcome = outcomes.get(desired.dataset)
        if outcome is None or outcome.fresh or outcome.live_id is None:
            continue
        candidates[desired.name] = [
            entry
            for entry in scope.index.undeclared_models
            if entry.model.dataset_id == outcome.live_id
            and live_training(entry.model) == desired_training(desired)
            and entry.model.status not in DEAD_STATUSES
        ]
    return unambiguous(candidates, lambda entry: entry.model.id)


def find_renamed_projects(
    desired: DesiredState, live: Mapping[str, list[LiveProject]]
) -> dict[str, LiveProject]:
    """Declared projects missing from Bria that an undeclared live project evidently is, renamed
    in the console: same ip_type and ip_medium, the manifest's ip_name/ip_description, and
    datasets or models under the manifest's names."""
    declared = {p.name for p in desired.projects}
    undeclared = [p for name, projects in live.items() if name not in declared for p in projects]
    candidates: dict[str, list[LiveProject]] = {}
    for project in desired.projects:
        if project.name in live or project.delete:
            continue
        datasets = {d.name for d in desired.datasets if d.project == project.name}
        models = {m.name for m in desired.models if m.project == project.name}
        found = [
            candidate
            for candidate in undeclared
            if candidate.datasets is not None
            and (candidate.ip_type, candidate.ip_medium) == (project.ip_type, project.ip_medium)
            and project.ip_name in (None, candidate.ip_name)
            and project.ip_description in (None, candidate.ip_description)
            and _holds(candidate, datasets, models)
        ]
        if found:
            candidates[project.name] = found
    return unambiguous(candidates, lambda candidate: candidate.id)


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


def renamed_in_manifest(
    kind: str,
    project: str,
    new_name: str,
    live_name: str,
    history: frozenset[str] | None,
) -> bool:
    """Whether the rename of `live_name` (in Bria) to the declared `new_name` was made in the
    manifest (True) or in Bria's console (False); see the module docstring."""
    old = old_manifest_name(kind, live_name)
    if not NAME_PATTERN.fullmatch(old):
        return False  # spaces, brackets, ...: never a manifest name, so typed in the console
    if history is not None:
        if _address(kind, project, old) in history:
            return True
        if _address(kind, project, new_name) in history:
            return False
    return True


def old_manifest_name(kind: str, live_name: str) -> str:
    """The manifest name a live resource was made from (`lora-v1` for `lora-v1~3`)."""
    parsed = parse_versioned_name(live_name)
    return parsed.base if parsed is not None and kind != "project" else live_name


def manifest_rename_note(kind: str, new_name: str, live_name: str) -> str:
    old = old_manifest_name(kind, live_name)
    return (
        f"{kind} '{new_name}' was renamed in the manifest from '{old}' to '{new_name}': "
        "rename it in Bria"
    )


def rename_note(
    kind: str, project: str, new_name: str, live_name: str, history: frozenset[str] | None
) -> tuple[str, bool]:
    """The note on renaming a dataset or model back to its declared name, and whether that is
    drift (renamed in the console) rather than a rename made in the manifest."""
    if renamed_in_manifest(kind, project, new_name, live_name, history):
        return manifest_rename_note(kind, new_name, live_name), False
    return (
        f"{kind} '{new_name}' was renamed in the console from '{new_name}' to '{live_name}': "
        "rename it back",
        True,
    )


def _address(kind: str, project: str, name: str) -> str:
    return f"project.{name}" if kind == "project" else f"{kind}.{project}/{name}"
