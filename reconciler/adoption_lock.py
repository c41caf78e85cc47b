"""The adoption lock: what `metadata.adopt: true` trusted, kept in the repository.

Bria re-encodes uploads, so an image made outside the reconciler (in the console, or before the
reconciler named images by digest) can only be matched to a local file by its name. Adoption
trusts the local file as it was at that moment; to notice a later edit of that file, the trusted
content must be remembered somewhere a fresh clone sees, and state lives in Bria or in git, never
in `.reconciler/`. So the digest of each adopted file is written to
`<manifest stem>.adopted.json` beside the manifest that declares the dataset
(`datasets/chars.yaml` -> `datasets/chars.adopted.json`), by `reconciler import` and by
`reconciler apply`; it is meant to be committed.

The file is a small, sorted JSON document so that its diffs read well in review:

    {"format": "reconciler-adoption/v1",
     "datasets": {"lora/chars": {"images": {"photo-1.png": {"remote_name": "photo-1.png",
                                                            "sha256": "3f2a..."}}}}}

Keys of `datasets` are `<project>/<dataset>` (manifest names, which cannot contain `/`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "reconciler-adoption/v1"
SUFFIX = ".adopted.json"
ABOUT = (
    "What metadata.adopt trusted: each adopted image's remote name in Bria and the SHA-256 of the "
    "local file it was matched to by name (Bria re-encodes uploads, so remote content cannot be "
    "compared). Written by reconciler import and apply; commit it: a later edit of an adopted "
    "file is detected against it."
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class LockError(ValueError):
    """The lock file is not one the reconciler wrote (message names the file and the field)."""


@dataclass(frozen=True)
class AdoptedImage:
    """One local file matched by name to one remote image, with the content it had then."""

    file_name: str
    remote_name: str
    sha256: str


@dataclass(frozen=True)
class AdoptionLock:
    """`<project>/<dataset>` -> the images adopted in that dataset, sorted by file name."""

    datasets: Mapping[str, tuple[AdoptedImage, ...]]

    def images_of(self, project: str, dataset: str) -> tuple[AdoptedImage, ...]:
        return self.datasets.get(dataset_key(project, dataset), ())


def dataset_key(project: str, dataset: str) -> str:
    return f"{project}/{dataset}"


def lock_path(manifest: Path) -> Path:
    """`datasets/chars.yaml` -> `datasets/chars.adopted.json`."""
    return manifest.with_name(manifest.stem + SUFFIX)


def render_lock(lock: AdoptionLock) -> str:
    """The lock as committed: sorted keys, one image per line block, a trailing newline."""
    datasets: dict[str, Any] = {}
    for key in sorted(lock.datasets):
        images = sorted(lock.datasets[key], key=lambda image: image.file_name)
        if not images:
            continue
        datasets[key] = {
            "images": {
                image.file_name: {"remote_name": image.remote_name, "sha256": image.sha256}
                for image in images
            }
        }
    document = {"format": FORMAT, "about": ABOUT, "datasets": datasets}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def parse_lock(text: str, where: str) -> AdoptionLock:
    """The lock in `text` (read from `where`, for messages); LockError when malformed."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise LockError(f"{where}:{err.lineno}: is not JSON ({err.msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LockError(f"{where}: field 'format' must be {FORMAT!r}")
    raw = data.get("datasets", {})
    if not isinstance(raw, dict):
        raise LockError(f"{where}: field 'datasets' must be an object")
    datasets: dict[str, tuple[AdoptedImage, ...]] = {}
    for key, entry in raw.items():
        images = entry.get("images") if isinstance(entry, dict) else None
        if not isinstance(images, dict) or key.count("/") != 1:
            raise LockError(f"{where}: field 'datasets.{key}' must be an object with 'images'")
        adopted = []
        for file_name, image in images.items():
            field = f"datasets.{key}.images.{file_name}"
            if not isinstance(image, dict):
                raise LockError(f"{where}: field '{field}' must be an object")
            remote, digest = image.get("remote_name"), image.get("sha256")
            if not isinstance(remote, str) or not remote:
                raise LockError(f"{where}: field '{field}.remote_name' must be a non-empty string")
            if not isinstance(digest, str) or not _SHA256.match(digest):
                raise LockError(f"{where}: field '{field}.sha256' must be 64 lower-case hex digits")
            adopted.append(AdoptedImage(file_name, remote, digest))
        datasets[key] = tuple(sorted(adopted, key=lambda image: image.file_name))
    return AdoptionLock(datasets)


def read_lock(path: Path) -> AdoptionLock | None:
    """The lock at `path`, None when there is none; LockError when it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise LockError(f"{path}: cannot be read ({err})") from None
    return parse_lock(text, str(path))


def merged(
    lock: AdoptionLock | None, updates: Mapping[str, tuple[AdoptedImage, ...]]
) -> AdoptionLock:
    """`lock` with the datasets of `updates` replaced (an empty tuple removes a dataset)."""
    datasets = dict(lock.datasets) if lock is not None else {}
    for key, images in updates.items():
        if images:
            datasets[key] = images
        else:
            datasets.pop(key, None)
    return AdoptionLock(datasets)


@dataclass(frozen=True)
class LockUpdate:
    """A plan's decision to record a dataset's adoption: `images` replace what `lock_file`
    holds for `dataset` (`<project>/<dataset>`); an empty tuple removes the dataset."""

    lock_file: str
    dataset: str
    images: tuple[AdoptedImage, ...]


def write_lock_updates(updates: Sequence[LockUpdate]) -> list[str]:
    """Carry out `updates` (after apply succeeded); one line per file written, for the report.

    Each file is rewritten whole through a temporary file and a rename, so a crash leaves the
    old lock or the new one, never half of one."""
    by_file: dict[str, dict[str, tuple[AdoptedImage, ...]]] = {}
    for update in updates:
        by_file.setdefault(update.lock_file, {})[update.dataset] = update.images
    lines = []
    for file, changes in sorted(by_file.items()):
        path = Path(file)
        lock = merged(read_lock(path), changes)
        if not lock.datasets:
            path.unlink(missing_ok=True)
            lines.append(f"removed {file}: nothing adopted is left to record")
            continue
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(render_lock(lock), encoding="utf-8")
        os.replace(temporary, path)
        count = sum(len(images) for images in changes.values())
        lines.append(
            f"recorded {count} adopted image{'s' if count != 1 else ''} in {file} (commit it)"
        )
    return lines
