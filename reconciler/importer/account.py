"""Read what `reconciler import` needs from the account: GET requests only.

Import must never change the account it copies, so this module calls nothing but list routes:
the projects, each wanted project's datasets (with their models, the same reads as a plan), and
the images of the current version of each dataset that can be imported (older versions are only
listed, so their images are never read). The reference does not say what an image list item
holds; an image listed without its `image_url` is read once more by id (Get Image by ID promises
the URL), so such a stand-in still imports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from reconciler.client import BriaClient, ImageRecord, ProjectRecord
from reconciler.client.records import SkippedRecord
from reconciler.errors import ReconcilerError
from reconciler.importer.convert import ProjectListing, Skipped, choose_datasets, project_problem
from reconciler.live import READ_PARALLELISM, read_project_datasets
from reconciler.manifest.diagnostics import did_you_mean


class UnknownProject(ReconcilerError):
    """`--project NAME` names no project of the account."""


def read_account(
    client: BriaClient, only: Sequence[str]
) -> tuple[list[ProjectListing], list[Skipped]]:
    """The projects to import (all, or those named in `only`) and the projects left out."""
    listed_projects = client.list_projects(lenient=True)
    projects = sorted(listed_projects, key=lambda p: (p.project_name, p.id))
    names = Counter(p.project_name for p in projects)
    unreadable = {record.name or f"#{record.id}": record for record in listed_projects.skipped}
    for name in only:
        if name not in names and name not in unreadable:
            raise UnknownProject(
                f"project '{name}' is not in the account"
                f"{did_you_mean(name, list(names))}; nothing was written (it has "
                f"{', '.join(repr(n) for n in sorted(names)) or 'no projects'})"
            )
    chosen: list[ProjectRecord] = []
    skipped = [
        Skipped(f"project.{name}", _unknown(record))
        for name, record in sorted(unreadable.items())
        if not only or name in only
    ]
    for project in projects:
        if only and project.project_name not in only:
            continue
        problem = project_problem(project, names[project.project_name])
        if problem is not None:
            skipped.append(Skipped(f"project.{project.project_name}", problem))
        else:
            chosen.append(project)
    with ThreadPoolExecutor(max_workers=READ_PARALLELISM) as pool:
        listed = list(pool.map(lambda p: read_project_datasets(client, p.id, lenient=True), chosen))
        for project, datasets in zip(chosen, listed, strict=True):
            skipped += [
                Skipped(f"dataset.{project.project_name}/{r.name or r.id}", _unknown(r))
                for r in datasets.skipped
            ]
            skipped += [
                Skipped(f"model.{project.project_name}/{r.name or r.id}", _unknown(r))
                for _path, r in datasets.skipped_models
            ]
        wanted = [
            record
            for project, datasets in zip(chosen, listed, strict=True)
            for record in choose_datasets(
                project.project_name, (d for d, _ in datasets)
            ).current.values()
        ]
        images = dict(
            zip(
                [d.id for d in wanted],
                pool.map(lambda d: list_images_with_urls(client, d.id), wanted),
                strict=True,
            )
        )
    listings = [
        ProjectListing(
            record=project,
            datasets=tuple(datasets),
            images={d.id: images[d.id] for d, _ in datasets if d.id in images},
        )
        for project, datasets in zip(chosen, listed, strict=True)
    ]
    return listings, skipped


def list_images_with_urls(client: BriaClient, dataset_id: int) -> list[ImageRecord]:
    """The dataset's images; those listed without an `image_url` read again by id."""
    return [
        image if image.image_url else client.get_image(dataset_id, image.id)
        for image in client.list_images(dataset_id)
    ]


def _unknown(record: SkippedRecord) -> str:
    return (
        f"Bria's answer holds a value this version of the reconciler does not know "
        f"({record.problem}), so it is not imported"
    )
