"""Reads what `status` shows: per declared project, its datasets and its models. GETs only.

Two lists per declared project that exists (datasets, models: the models list also holds models
whose dataset was deleted), read in parallel; the projects list once. When a dataset list answer
gives no `images_count` for a declared dataset's current version, its images are listed to count
them. Lists are read leniently: a record with a value this version does not know is left out
rather than failing the whole status. Nothing is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from reconciler.client import BriaClient, DatasetRecord, ProjectRecord
from reconciler.naming import parse_versioned_name
from reconciler.state import DesiredState
from reconciler.status.report import ProjectReading

READ_PARALLELISM = 8


def current_versions(datasets: Sequence[DatasetRecord], bases: set[str]) -> set[int]:
    """Ids of the current (highest) version of each of `bases`."""
    best: dict[str, tuple[int, int]] = {}
    for record in datasets:
        parsed = parse_versioned_name(record.name)
        if parsed is None or parsed.base not in bases:
            continue
        if parsed.base not in best or (parsed.version, record.id) > best[parsed.base]:
            best[parsed.base] = (parsed.version, record.id)
    return {dataset_id for _version, dataset_id in best.values()}


def _counted(client: BriaClient, record: DatasetRecord) -> DatasetRecord:
    if record.images_count is not None or record.images is not None:
        return record
    return dataclasses.replace(record, images_count=len(client.list_images(record.id)))


def read_projects(client: BriaClient, desired: DesiredState) -> list[ProjectReading]:
    declared = {project.name for project in desired.projects}
    records: dict[str, ProjectRecord] = {}
    for record in sorted(client.list_projects(lenient=True), key=lambda p: p.id):
        if record.project_name in declared:
            records.setdefault(record.project_name, record)

    def read(name: str) -> ProjectReading:
        record = records.get(name)
        if record is None:
            return ProjectReading(name, None)
        datasets = sorted(client.list_project_datasets(record.id, lenient=True), key=lambda d: d.id)
        bases = {d.name for d in desired.datasets if d.project == name}
        current = current_versions(datasets, bases)
        datasets = [_counted(client, d) if d.id in current else d for d in datasets]
        models = client.list_project_models(record.id, lenient=True)
        return ProjectReading(
            name, record, tuple(datasets), tuple(sorted(models, key=lambda m: m.id))
        )

    with ThreadPoolExecutor(max_workers=READ_PARALLELISM) as pool:
        return list(pool.map(read, sorted(declared)))
