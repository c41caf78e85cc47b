"""Write what `reconciler import` converted: manifests, downloaded images, sidecars, locks.

Under `DIR/<project>/`: `project.yaml`, `datasets/<name>.yaml` with its image folder
`datasets/<name>/` and its adoption lock `datasets/<name>.adopted.json`, and
`models/<name>.yaml`. Like Terraform's `-generate-config-out`, it never overwrites: every target
is checked first, and when any exists nothing at all is written. Images are downloaded from their
`image_url` without the API token (they are public storage URLs, and the token must not travel
to another host), streamed to disk with a size cap, and hashed on the way for the lock. When a
dataset's images cannot be downloaded (after a few attempts for transient failures), nothing of
that dataset is left behind and it is listed as not written, with the models on it; the rest of
the import goes on. Anything else that fails removes every file the run created.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import yaml

from reconciler.adoption_lock import AdoptedImage, AdoptionLock, dataset_key, lock_path
from reconciler.adoption_lock import render_lock as render_adoption_lock
from reconciler.client.http import shared_tls_context
from reconciler.client.retry_policy import Backoff
from reconciler.errors import ReconcilerError
from reconciler.importer.convert import DatasetExport, ImageDownload, ProjectExport, Skipped

DOWNLOAD_PARALLELISM = 8
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024  # re-encoded images can outgrow the 12 MB upload limit
DOWNLOAD_TIMEOUT = 60.0
DOWNLOAD_ATTEMPTS = 3
# 0.5 s, then 1 s, between attempts (a production pause: the test knob shortens it)
DOWNLOAD_BACKOFF = Backoff(base=0.5, cap=1.0, jitter=False)
HEADER = "# Imported from Bria by 'reconciler import': only the fields you own; edit freely.\n"


class ImportRefused(ReconcilerError):
    """A file import would write exists already (it never overwrites)."""


class ImportWriteFailed(ReconcilerError):
    """A file or folder under --out could not be written (permissions, a full disk...)."""


class DownloadFailed(ReconcilerError):
    """An image could not be downloaded from its image_url."""


@dataclass
class Written:
    """What the run wrote, in order, for the report (and for removal after a failure)."""

    lines: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # datasets whose download failed

    def absorb(self, other: Written) -> None:
        self.lines += other.lines
        self.files += other.files
        self.folders += other.folders
        self.skipped += other.skipped


def project_folder(out: Path, export: ProjectExport) -> Path:
    return out / export.name


def dataset_manifest_path(out: Path, project: ProjectExport, dataset: DatasetExport) -> Path:
    return project_folder(out, project) / "datasets" / f"{dataset.name}.yaml"


def targets(out: Path, export: ProjectExport) -> list[Path]:
    """Every path the import of `export` would create."""
    folder = project_folder(out, export)
    paths = [folder / "project.yaml"]
    for dataset in export.datasets:
        manifest = dataset_manifest_path(out, export, dataset)
        paths += [manifest, lock_path(manifest), manifest.parent / dataset.name]
    paths += [folder / "models" / f"{model.name}.yaml" for model in export.models]
    return paths


def existing(paths: Sequence[Path]) -> list[Path]:
    """The targets already there: any file, or a folder that is not empty."""
    found = []
    for path in paths:
        if path.is_dir():
            if any(path.iterdir()):
                found.append(path)
        elif path.exists() or path.is_symlink():
            found.append(path)
    return found


def render_manifest(document: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def write_exports(
    out: Path,
    exports: Sequence[ProjectExport],
    api_url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    progress: Callable[[str], None] | None = None,
) -> Written:
    """Write every export under `out`; ImportRefused (writing nothing) when a target exists."""
    clashes = [path for export in exports for path in existing(targets(out, export))]
    if clashes:
        listed = "\n".join(f"  exists, not overwritten: {path}" for path in clashes)
        raise ImportRefused(
            f"{len(clashes)} of the files import would write already exist, so nothing was "
            f"written (import never overwrites; move them away or choose another --out):\n{listed}"
        )
    written = Written()
    try:
        with httpx.Client(
            timeout=DOWNLOAD_TIMEOUT,
            follow_redirects=True,
            transport=transport,
            verify=shared_tls_context(True),  # the process's one CA bundle load
        ) as http:
            for export in exports:
                _write_project(out, export, api_url, http, written, progress)
    except OSError as err:
        _remove(written)
        where = err.filename if err.filename is not None else out
        raise ImportWriteFailed(
            f"cannot write '{where}': {err.strerror or err}; nothing was written "
            "(choose another --out)"
        ) from err
    except BaseException:
        _remove(written)
        raise
    return written


def _write_project(
    out: Path,
    export: ProjectExport,
    api_url: str,
    http: httpx.Client,
    written: Written,
    progress: Callable[[str], None] | None,
) -> None:
    folder = project_folder(out, export)
    _create_file(folder / "project.yaml", render_manifest(export.manifest), written)
    written.lines.append(f"wrote {folder / 'project.yaml'} (project '{export.name}')")
    imported: set[str] = set()
    for dataset in export.datasets:
        if progress is not None:
            progress(f"downloading {len(dataset.images)} images of dataset '{dataset.name}'")
        mine = Written()
        try:
            _write_dataset(out, export, dataset, api_url, http, mine)
        except DownloadFailed as err:
            _remove(mine)
            written.skipped.append(
                Skipped(
                    f"dataset.{export.name}/{dataset.remote_name}",
                    f"{err}; nothing of it was written (import it again later)",
                )
            )
            continue
        except BaseException:
            _remove(mine)
            raise
        written.absorb(mine)
        imported.add(dataset.name)
    for model in export.models:
        dataset_name = model.manifest["spec"]["dataset"]
        if dataset_name not in imported:
            written.skipped.append(
                Skipped(
                    f"model.{export.name}/{model.remote_name}",
                    f"its dataset '{dataset_name}' could not be imported (see above)",
                )
            )
            continue
        path = folder / "models" / f"{model.name}.yaml"
        _create_file(path, render_manifest(model.manifest), written)
        protected = ", protected" if model.manifest["metadata"].get("protect") else ""
        written.lines.append(
            f"wrote {path} (model '{model.name}' from '{model.remote_name}', "
            f"{model.status}{protected})"
        )


def _write_dataset(
    out: Path,
    export: ProjectExport,
    dataset: DatasetExport,
    api_url: str,
    http: httpx.Client,
    written: Written,
) -> None:
    manifest = dataset_manifest_path(out, export, dataset)
    images = manifest.parent / dataset.name
    _mkdir(images, written)
    digests = _download_all(http, api_url, images, dataset.images, written)
    for sidecar, caption in sorted(dataset.sidecars.items()):
        _create_file(images / sidecar, caption + "\n", written)
    _create_file(manifest, render_manifest(dataset.manifest), written)
    adopted = tuple(
        AdoptedImage(image.file_name, image.remote_name, digests[image.file_name])
        for image in dataset.images
    )
    lock = AdoptionLock({dataset_key(export.name, dataset.name): adopted})
    _create_file(lock_path(manifest), render_adoption_lock(lock), written)
    captions = len(dataset.sidecars) + len(dataset.manifest["spec"].get("captions", {}))
    written.lines.append(
        f"wrote {manifest} (dataset '{dataset.name}' from '{dataset.remote_name}', adopted: "
        f"{len(dataset.images)} images downloaded into {images}, {captions} manual "
        f"caption{'s' if captions != 1 else ''}; automatic captions left to Bria)"
    )
    written.lines.append(f"wrote {lock_path(manifest)} (what adoption trusted; commit it)")


def _download_all(
    http: httpx.Client,
    api_url: str,
    folder: Path,
    images: Sequence[ImageDownload],
    written: Written,
) -> dict[str, str]:
    """file name -> sha256 of the bytes written."""
    with ThreadPoolExecutor(max_workers=DOWNLOAD_PARALLELISM) as pool:
        digests = list(
            pool.map(lambda image: _download(http, api_url, folder, image, written), images)
        )
    return {image.file_name: digest for image, digest in zip(images, digests, strict=True)}


def _download(
    http: httpx.Client, api_url: str, folder: Path, image: ImageDownload, written: Written
) -> str:
    """Stream one image to its file; sha256 of the bytes. Transient failures (network, 429,
    5xx) are tried again a few times; anything else is DownloadFailed at once."""
    url = urljoin(api_url + "/", image.url)
    shown = _shown(url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadFailed(
            f"image '{image.remote_name}' has image_url {shown}, which is not http(s)"
        )
    path = folder / image.file_name
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            return _fetch(http, url, shown, image, path, written)
        except _Transient as err:
            if path in written.files:
                path.unlink(missing_ok=True)
                written.files.remove(path)
            if attempt == DOWNLOAD_ATTEMPTS:
                raise DownloadFailed(
                    f"image '{image.remote_name}' could not be downloaded from {shown}: "
                    f"{err} ({DOWNLOAD_ATTEMPTS} attempts)"
                ) from None
            time.sleep(DOWNLOAD_BACKOFF.delay(attempt))
    raise AssertionError("unreachable")


class _Transient(Exception):
    """A failure worth another attempt."""


def _fetch(
    http: httpx.Client, url: str, shown: str, image: ImageDownload, path: Path, written: Written
) -> str:
    digest = hashlib.sha256()
    size = 0
    try:
        with http.stream("GET", url) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                raise _Transient(f"{status} {response.reason_phrase}")
            if status != 200:
                raise DownloadFailed(
                    f"image '{image.remote_name}' could not be downloaded from {shown}: "
                    f"{status} {response.reason_phrase}"
                )
            with _exclusive(path, written) as handle:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise DownloadFailed(
                            f"image '{image.remote_name}' at {shown} is over "
                            f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB"
                        )
                    digest.update(chunk)
                    handle.write(chunk)
    except httpx.HTTPError as err:
        raise _Transient(type(err).__name__) from err
    if size == 0:
        raise DownloadFailed(f"image '{image.remote_name}' at {shown} is empty")
    return digest.hexdigest()


def _shown(url: str) -> str:
    """The URL without its query (signed storage URLs carry credentials there)."""
    parts = urlsplit(url)
    return f"'{parts.scheme}://{parts.netloc}{parts.path}'"


@contextmanager
def _exclusive(path: Path, written: Written) -> Iterator[Any]:
    with open(path, "xb") as handle:  # "x": never overwrite, even if one appeared meanwhile
        written.files.append(path)
        yield handle


def _create_file(path: Path, text: str, written: Written) -> None:
    _mkdir(path.parent, written)
    with open(path, "x", encoding="utf-8", newline="\n") as handle:
        written.files.append(path)
        handle.write(text)


def _mkdir(path: Path, written: Written) -> None:
    missing = []
    for parent in [path, *path.parents]:
        if parent.exists():
            break
        missing.append(parent)
    path.mkdir(parents=True, exist_ok=True)
    written.folders += reversed(missing)


def _remove(written: Written) -> None:
    for path in reversed(written.files):
        try:
            path.unlink()
        except OSError:
            pass
    for folder in reversed(written.folders):
        try:
            os.rmdir(folder)
        except OSError:
            pass
