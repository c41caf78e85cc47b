"""Datasets marked `metadata.adopt: true`: read what their adoption trusted from the lock file.

The lock (`reconciler.adoption_lock`) sits beside the manifest that declares the dataset. A
missing lock is normal (hand-written manifests before their first apply); a lock that cannot be
read is an error located at `metadata.adopt`, since planning without it could miss an edit of
an adopted file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.adoption_lock import AdoptedImage, AdoptionLock, LockError, lock_path, read_lock
from reconciler.manifest.diagnostics import DiagnosticSink
from reconciler.manifest.documents import Resource


@dataclass(frozen=True)
class Adoption:
    lock_file: str  # as displayed, beside the manifest's displayed path
    images: tuple[AdoptedImage, ...]  # what the lock recorded for this dataset


def is_adopted(resource: Resource) -> bool:
    return resource.metadata.get("adopt") is True


def read_adoptions(
    datasets: Mapping[tuple[str, str], Resource], sink: DiagnosticSink
) -> dict[tuple[str, str], Adoption]:
    """(project, dataset) -> its adoption, for every valid dataset marked adopt."""
    found: dict[tuple[str, str], Adoption] = {}
    locks: dict[Path, AdoptionLock | LockError | None] = {}
    for key, dataset in sorted(datasets.items()):
        if not is_adopted(dataset) or dataset.delete:
            continue
        path = lock_path(dataset.document.path)
        shown = str(lock_path(Path(dataset.document.file)))
        if path not in locks:
            try:
                locks[path] = read_lock(path)
            except LockError as err:
                locks[path] = err
        lock = locks[path]
        if isinstance(lock, LockError):
            dataset.error(
                sink,
                ("metadata", "adopt"),
                f"{dataset.subject} is adopted, but its adoption lock {shown!r} cannot be used: "
                f"{str(lock).removeprefix(str(path) + ':').strip()}; restore it from git (or "
                "delete it to adopt the images by name again)",
            )
            continue
        images = lock.images_of(dataset.project, dataset.name) if lock is not None else ()
        found[key] = Adoption(lock_file=shown, images=images)
    return found
