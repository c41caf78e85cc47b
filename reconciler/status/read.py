"""Reads what `status` shows: per declared project, its datasets and its models. GETs only.

Two lists per declared project that exists (datasets, models: the models list also holds models
whose dataset was deleted), read in parallel; the projects list once. Nothing is written.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from reconciler.client import BriaClient, ProjectRecord
from reconciler.state import DesiredState
from reconciler.status.report import ProjectReading

READ_PARALLELISM = 8


def read_projects(client: BriaClient, desired: DesiredState) -> list[ProjectReading]:
    declared = {project.name for project in desired.projects}
    records: dict[str, ProjectRecord] = {}
    for record in sorted(client.list_projects(), key=lambda p: p.id):
        if record.project_name in declared:
            records.setdefault(record.project_name, record)

    def read(name: str) -> ProjectReading:
        record = records.get(name)
        if record is None:
            return ProjectReading(name, None)
        datasets = client.list_project_datasets(record.id)
        models = client.list_project_models(record.id)
        return ProjectReading(
            name,
            record,
            tuple(sorted(datasets, key=lambda d: d.id)),
            tuple(sorted(models, key=lambda m: m.id)),
        )

    with ThreadPoolExecutor(max_workers=READ_PARALLELISM) as pool:
        return list(pool.map(read, sorted(declared)))
