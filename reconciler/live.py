"""Read the account into a `LiveState` with the fewest calls the API allows.

State lives in Bria, so every plan starts here. A no-change plan costs one list of projects, one
list of datasets (with their models) per declared project and one list of images per declared
dataset's current version; images are never downloaded. What to read is a `ReadScope`, derived
from the manifests (`scope_from_desired`), so that `apply --plan` can repeat exactly the same reads
and compare fingerprints.

Rename drift needs the images of datasets whose names the manifests do not declare; those are
listed only when some declared dataset has no live version at all, so a no-change plan does not
pay for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

from reconciler.client import BriaClient, DatasetRecord, ImageRecord, ModelRecord, ProjectRecord
from reconciler.naming import parse_versioned_name
from reconciler.state import (
    DesiredState,
    LiveDataset,
    LiveImage,
    LiveModel,
    LiveProject,
    LiveState,
)

if TYPE_CHECKING:
    from reconciler.plan import Plan

READ_PARALLELISM = 8
_Record = TypeVar("_Record", ImageRecord, ModelRecord)


@dataclass(frozen=True)
class ReadScope:
    """Which projects to read in depth, and which dataset base names they declare."""

    projects: frozenset[str] = frozenset()
    # project -> declared (not deleted) dataset base names whose current version's images we need
    dataset_bases: Mapping[str, frozenset[str]] = field(default_factory=dict)


def scope_from_desired(desired: DesiredState) -> ReadScope:
    project_names = {p.name for p in desired.projects}
    project_names |= {d.project for d in desired.datasets} | {m.project for m in desired.models}
    deleted_projects = {p.name for p in desired.projects if p.delete}
    bases: dict[str, set[str]] = {name: set() for name in project_names}
    for dataset in desired.datasets:
        if not dataset.delete and dataset.project not in deleted_projects:
            bases[dataset.project].add(dataset.name)
    return ReadScope(
        projects=frozenset(project_names),
        dataset_bases={name: frozenset(names) for name, names in bases.items()},
    )


def read_live_state(client: BriaClient, desired: DesiredState) -> LiveState:
    """The live account as far as the manifests need it (see the module docstring)."""
    return read_live_scope(client, scope_from_desired(desired))


def read_live_scope(client: BriaClient, scope: ReadScope, *, all_images: bool = False) -> LiveState:
    """Read `scope`; `all_images` lists the images of every dataset of the scope's projects."""
    projects = sorted(client.list_projects(), key=lambda p: p.id)
    declared = [p for p in projects if p.project_name in scope.projects]
    with ThreadPoolExecutor(max_workers=READ_PARALLELISM) as pool:
        datasets_by_project = dict(
            zip(
                [p.id for p in declared],
                pool.map(lambda p: _read_datasets(client, p.id), declared),
                strict=True,
            )
        )
        wanted: list[DatasetRecord] = []
        for project in declared:
            bases = scope.dataset_bases.get(project.project_name, frozenset())
            listed = datasets_by_project[project.id]
            if all_images:
                wanted.extend(record for record, _models in listed)
            else:
                wanted.extend(_datasets_needing_images(listed, bases))
        images_by_dataset = dict(
            zip(
                [d.id for d in wanted],
                pool.map(lambda d: client.list_images(d.id), wanted),
                strict=True,
            )
        )
    live_projects: list[LiveProject] = []
    for project in projects:
        if project.id not in datasets_by_project:
            live_projects.append(_live_project(project, None))
            continue
        live_datasets = tuple(
            _live_dataset(record, models, images_by_dataset.get(record.id))
            for record, models in datasets_by_project[project.id]
        )
        live_projects.append(_live_project(project, live_datasets))
    return LiveState(projects=tuple(live_projects))


def _read_datasets(
    client: BriaClient, project_id: int
) -> list[tuple[DatasetRecord, tuple[ModelRecord, ...]]]:
    """The project's datasets with their models; one call unless the answer omits `models`."""
    records = sorted(
        client.list_project_datasets(project_id, include_models=True), key=lambda d: d.id
    )
    if any(record.models is None for record in records):
        # The API did not embed the models: one list per project, never a guess.
        by_dataset: dict[int | None, list[ModelRecord]] = {}
        for model in client.list_project_models(project_id):
            by_dataset.setdefault(model.dataset_id, []).append(model)
        return [(r, tuple(by_dataset.get(r.id, ()))) for r in records]
    return [(r, tuple(r.models or ())) for r in records]


def _datasets_needing_images(
    datasets: list[tuple[DatasetRecord, tuple[ModelRecord, ...]]], bases: frozenset[str]
) -> list[DatasetRecord]:
    wanted = _wanted_ids([(record.id, record.name) for record, _models in datasets], bases)
    return [record for record, _models in datasets if record.id in wanted]


def _wanted_ids(datasets: list[tuple[int, str]], bases: frozenset[str]) -> set[int]:
    """The current (highest) version of each declared base; rename candidates when needed."""
    current: dict[str, tuple[int, int]] = {}
    undeclared: list[int] = []
    for dataset_id, name in datasets:
        parsed = parse_versioned_name(name)
        if parsed is None or parsed.base not in bases:
            undeclared.append(dataset_id)
            continue
        best = current.get(parsed.base)
        if best is None or parsed.version > best[0]:
            current[parsed.base] = (parsed.version, dataset_id)
    wanted = {dataset_id for _version, dataset_id in current.values()}
    if any(base not in current for base in bases):
        wanted.update(undeclared)  # could be a declared dataset renamed in the console
    return wanted


def _live_project(record: ProjectRecord, datasets: tuple[LiveDataset, ...] | None) -> LiveProject:
    return LiveProject(
        id=record.id,
        project_name=record.project_name,
        ip_type=record.ip_type,
        ip_medium=record.ip_medium,
        project_description=record.project_description,
        ip_name=record.ip_name,
        ip_description=record.ip_description,
        datasets=datasets,
    )


def _live_dataset(
    record: DatasetRecord,
    models: Iterable[ModelRecord],
    images: list[ImageRecord] | None,
) -> LiveDataset:
    return LiveDataset(
        id=record.id,
        project_id=record.project_id,
        name=record.name,
        status=record.status,
        caption_prefix=record.caption_prefix,
        captions_update_status=record.captions_update_status,
        images=None if images is None else tuple(live_image(i) for i in _by_id(images)),
        models=tuple(live_model(m) for m in _by_id(models) if m.status != "Deleted"),
    )


def live_image(record: ImageRecord) -> LiveImage:
    return LiveImage(
        id=record.id,
        image_name=record.image_name or "",
        caption=record.caption,
        caption_source=record.caption_source,
    )


def live_model(record: ModelRecord) -> LiveModel:
    return LiveModel(
        id=record.id,
        name=record.name,
        dataset_id=record.dataset_id,
        training_version=(record.training_version or "").lower(),
        status=record.status,
        description=record.description,
    )


def _by_id(records: Iterable[_Record]) -> list[_Record]:
    return sorted(records, key=lambda r: r.id)


def read_for_saved_plan(client: BriaClient, plan: Plan) -> LiveState | None:
    """The live state read exactly as when `plan` was made, or None when none matches.

    A saved plan holds steps and changes but not the manifests, so the reads it was made from
    are rebuilt: every dataset of the projects the plan names is read with its images (only in
    this `apply --plan` path), then each scope the plan could have been read with is tried until
    one gives the plan's fingerprint. None means the account changed since: the plan is stale.
    """
    from reconciler.plan import fingerprint

    projects, upper_bases = _plan_names(plan)
    full = read_live_scope(client, ReadScope(projects=projects), all_images=True)
    for scope in _candidate_scopes(full, projects, upper_bases, plan):
        state = restrict_to_scope(full, scope)
        if fingerprint(state) == plan.fingerprint:
            return state
    return None


def restrict_to_scope(full: LiveState, scope: ReadScope) -> LiveState:
    """`full` (all images read) as `read_live_scope(scope)` would have read it."""
    projects: list[LiveProject] = []
    for project in full.projects:
        if project.project_name not in scope.projects or project.datasets is None:
            projects.append(replace(project, datasets=None))
            continue
        bases = scope.dataset_bases.get(project.project_name, frozenset())
        wanted = _wanted_ids([(d.id, d.name) for d in project.datasets], bases)
        datasets = tuple(d if d.id in wanted else replace(d, images=None) for d in project.datasets)
        projects.append(replace(project, datasets=datasets))
    return LiveState(projects=tuple(projects))


_MAX_CANDIDATE_BASES = 10


def _plan_names(plan: Plan) -> tuple[frozenset[str], dict[str, set[str]]]:
    """Projects the plan names, and per project every dataset base it names."""
    projects: set[str] = set()
    bases: dict[str, set[str]] = {}
    for change in plan.changes:
        kind, _, rest = change.address.partition(".")
        project, _, name = rest.partition("/")
        projects.add(project)
        bases.setdefault(project, set())
        if kind == "dataset":
            parsed = parse_versioned_name(name.partition("#")[0])
            if parsed is not None:
                bases[project].add(parsed.base)
    return frozenset(projects), bases


def _candidate_scopes(
    full: LiveState, projects: frozenset[str], upper: dict[str, set[str]], plan: Plan
) -> Iterable[ReadScope]:
    """The likely scope first (declared datasets: changes that are neither about an undeclared
    or superseded dataset nor a deletion), then every subset of the named bases (bounded)."""
    likely: dict[str, frozenset[str]] = {}
    for project in projects:
        likely[project] = frozenset(
            base for base in upper.get(project, set()) if _declared_in(plan, project, base)
        )
    yield ReadScope(projects=projects, dataset_bases=likely)
    names = sorted((p, b) for p, bases in upper.items() for b in bases)
    if len(names) > _MAX_CANDIDATE_BASES:
        return
    for mask in range(2 ** len(names)):
        chosen: dict[str, set[str]] = {p: set() for p in projects}
        for bit, (project, base) in enumerate(names):
            if mask >> bit & 1:
                chosen[project].add(base)
        yield ReadScope(
            projects=projects, dataset_bases={p: frozenset(b) for p, b in chosen.items()}
        )


def _declared_in(plan: Plan, project: str, base: str) -> bool:
    for change in plan.changes:
        if change.address.partition("#")[0] != f"dataset.{project}/{base}":
            continue
        reason = change.reason.lower()
        if change.action == "delete" or "absent" in reason or "not declared" in reason:
            return False
        return True
    return False
