"""A dataset's image folder -> `DesiredImage`s, with every problem located at `spec.images`.

The folder must stay inside the repository: a manifest from a pull request must not be able to
upload `/etc` or a CI secret to Bria, so `..` and symbolic links are resolved before the check.
Every regular, non-hidden file in the folder (not recursive) is an image except `*.txt`, which
are caption sidecars; an image's caption comes from `spec.captions`, else `<stem>.txt`, else
Bria's automatic caption. Image facts come from the digest cache when the file is unchanged.
"""

from __future__ import annotations

import os
import stat
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reconciler.manifest.diagnostics import (
    PLAIN_TEXT_FIX,
    DiagnosticSink,
    control_character,
    did_you_mean,
    quote,
)
from reconciler.manifest.digests import DigestCache, FileKey, ImageFacts
from reconciler.manifest.documents import Resource
from reconciler.manifest.image_probe import (
    EXTENSION_FORMATS,
    FORMAT_NAMES,
    MAX_IMAGE_BYTES,
    MIN_SIDE,
    PREFERRED_EXTENSION,
    Probe,
    probe_image,
    size_problem,
)
from reconciler.naming import image_name_problem
from reconciler.state import MAX_IMAGES, DesiredImage

MAX_SIDECAR_BYTES = 64 * 1024
_WHERE = ("spec", "images")


@dataclass
class ReadCounter:
    images: int = 0
    cache_hits: int = 0
    files_read: int = 0
    bytes_read: int = 0


@dataclass(frozen=True)
class _File:
    name: str
    path: str  # absolute, symlinks resolved
    size: int
    key: FileKey  # stat data: unchanged key, unchanged file


@dataclass(frozen=True)
class FolderImages:
    images: tuple[DesiredImage, ...]  # the usable images, sorted by file name
    count: int  # image files found, usable or not (for the 1..200 limit)


def read_dataset_images(
    dataset: Resource,
    root: Path,
    cache: DigestCache,
    counter: ReadCounter,
    sink: DiagnosticSink,
) -> FolderImages | None:
    """The images of `dataset`'s folder; None when the folder itself is unusable."""
    folder = _resolve_folder(dataset, root, sink)
    if folder is None:
        return None
    listing = _list_folder(dataset, folder, root, sink)
    if listing is None:
        return None
    candidates, sidecars = listing
    if len(candidates) > MAX_IMAGES:
        return FolderImages((), len(candidates))  # the count is the error; reading is pointless
    facts = _facts(dataset, candidates, cache, counter, sink)
    captions = _captions(dataset, candidates, sidecars, sink)
    images = tuple(
        DesiredImage(
            file_name=f.name,
            path=f.path,
            digest=facts[f.name].sha256,
            size=f.size,
            caption=captions[f.name][0],
            caption_origin=captions[f.name][1],
        )
        for f in candidates
        if f.name in facts
    )
    _warn_duplicates(dataset, images, sink)
    return FolderImages(images, len(candidates))


def _resolve_folder(dataset: Resource, root: Path, sink: DiagnosticSink) -> Path | None:
    value = dataset.text("images")
    if value is None:
        return None
    if any(not ch.isprintable() for ch in value):
        dataset.error(sink, _WHERE, f"image folder {quote(value)} contains a control character")
        return None
    if os.path.isabs(value):
        dataset.error(
            sink,
            _WHERE,
            f"image folder {quote(value)} must be relative to the manifest file, not absolute",
        )
        return None
    lexical = dataset.document.path.parent / value
    try:
        resolved = lexical.resolve()
    except (OSError, RuntimeError):
        dataset.error(sink, _WHERE, f"image folder {quote(value)} cannot be resolved (link loop?)")
        return None
    if not resolved.is_relative_to(root):
        how = "climbs out of it with '..'" if ".." in Path(value).parts else "leaves it by a link"
        dataset.error(
            sink,
            _WHERE,
            f"image folder {quote(value)} is outside the repository {quote(str(root), None)} (it "
            f"{how}); keep images inside the repository",
        )
        return None
    try:
        if not resolved.exists():
            parent = lexical.parent
            siblings = [p.name for p in parent.iterdir() if p.is_dir()] if parent.is_dir() else []
            hint = did_you_mean(lexical.name, siblings)
            dataset.error(sink, _WHERE, f"image folder {quote(value)} does not exist{hint}")
            return None
        if not resolved.is_dir():
            dataset.error(sink, _WHERE, f"image folder {quote(value)} is not a folder")
            return None
    except OSError as err:
        dataset.error(sink, _WHERE, f"image folder {quote(value)} cannot be read: {err.strerror}")
        return None
    return resolved


def _list_folder(
    dataset: Resource, folder: Path, root: Path, sink: DiagnosticSink
) -> tuple[list[_File], dict[str, _File]] | None:
    try:
        names = sorted(entry.name for entry in os.scandir(folder))
    except OSError as err:
        dataset.error(
            sink, _WHERE, f"cannot list image folder {quote(str(folder), None)}: {err.strerror}"
        )
        return None
    images: list[_File] = []
    sidecars: dict[str, _File] = {}
    for name in names:
        if name.startswith("."):
            continue
        where = _in_folder(dataset, name)
        if not name.isprintable() or not _is_utf8(name):
            dataset.error(
                sink, _WHERE, f"file {where} has a control character or non-UTF-8 name; rename it"
            )
            continue
        full = folder / name
        real = os.path.realpath(full)
        if not Path(real).is_relative_to(root):
            dataset.error(
                sink,
                _WHERE,
                f"file {where} is a link to {quote(real, None)}, outside the repository",
            )
            continue
        try:
            info = os.stat(real)
        except OSError:
            dataset.error(sink, _WHERE, f"file {where} is a broken link or cannot be read")
            continue
        if stat.S_ISDIR(info.st_mode):
            continue  # image folders are not recursive
        if not stat.S_ISREG(info.st_mode):
            dataset.error(sink, _WHERE, f"file {where} is not a regular file")
            continue
        found = _File(name, real, info.st_size, FileKey.of(info))
        if name.lower().endswith(".txt"):
            sidecars[name[: -len(".txt")]] = found
        else:
            images.append(found)
    return images, sidecars


def _facts(
    dataset: Resource,
    files: list[_File],
    cache: DigestCache,
    counter: ReadCounter,
    sink: DiagnosticSink,
) -> dict[str, ImageFacts]:
    """Facts for every usable image: from the cache, else read (in parallel); problems reported."""
    found: dict[str, ImageFacts] = {}
    to_read: list[_File] = []
    for f in files:
        counter.images += 1
        if f.size == 0:
            _image_error(dataset, f, "is empty (0 bytes)", sink)
        elif f.size > MAX_IMAGE_BYTES:
            _image_error(dataset, f, size_problem(f.size), sink)
        elif (cached := cache.get(f.path, f.key)) is not None:
            counter.cache_hits += 1
            found[f.name] = cached
        else:
            to_read.append(f)
    if len(to_read) > 1:
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            probes: list[Probe] = list(pool.map(probe_image, (f.path for f in to_read)))
    else:
        probes = [probe_image(f.path) for f in to_read]
    for f, probe in zip(to_read, probes, strict=True):
        counter.files_read += 1
        counter.bytes_read += probe.bytes_read
        if probe.facts is None:
            _image_error(dataset, f, probe.problem or "cannot be read", sink)
            continue
        cache.put(f.path, f.key, probe.facts)
        found[f.name] = probe.facts
    for f in files:
        if f.name in found and not _check_facts(dataset, f, found[f.name], sink):
            del found[f.name]
    return found


def _check_facts(dataset: Resource, f: _File, facts: ImageFacts, sink: DiagnosticSink) -> bool:
    """Size and format rules (errors), extension and transparency (warnings)."""
    if facts.width < MIN_SIDE or facts.height < MIN_SIDE:
        _image_error(
            dataset,
            f,
            f"is {facts.width}x{facts.height} pixels; Bria needs at least {MIN_SIDE}x{MIN_SIDE}",
            sink,
        )
        return False
    if (name_problem := image_name_problem(f.name)) is not None:
        _image_error(
            dataset,
            f,
            f"{name_problem}, so every apply would upload it again; rename it to "
            f"{quote(_round_tripping_name(f.name, PREFERRED_EXTENSION[facts.format]))}",
            sink,
        )
        return False
    extension = os.path.splitext(f.name)[1].lower()
    if EXTENSION_FORMATS.get(extension) != facts.format:
        stem = os.path.splitext(f.name)[0] if extension in EXTENSION_FORMATS else f.name
        better = stem + PREFERRED_EXTENSION[facts.format]
        dataset.warning(
            sink,
            _WHERE,
            f"image {_in_folder(dataset, f.name)} is really a {FORMAT_NAMES[facts.format]} file; "
            f"rename it to {quote(better)}",
        )
    if facts.has_alpha:
        dataset.warning(
            sink,
            _WHERE,
            f"image {_in_folder(dataset, f.name)} has transparency, which Bria turns black; "
            "flatten it onto a background",
        )
    return True


def _captions(
    dataset: Resource, files: list[_File], sidecars: dict[str, _File], sink: DiagnosticSink
) -> dict[str, tuple[str | None, Literal["manifest", "sidecar"] | None]]:
    """Each image's caption and where it came from; captions for missing files reported."""
    given = dataset.spec.get("captions")
    given = given if isinstance(given, dict) else {}
    names = [f.name for f in files]
    for name in sorted(set(given) - set(names)):
        dataset.error(
            sink,
            ("spec", "captions", name),
            f"caption given for {quote(name)}, but {quote(dataset.text('images'))} has no "
            f"such image{did_you_mean(name, names)}",
        )
    stems = {os.path.splitext(name)[0] for name in names}
    for stem in sorted(set(sidecars) - stems):
        dataset.warning(
            sink,
            _WHERE,
            f"caption file {_in_folder(dataset, sidecars[stem].name)} matches no image",
        )
    result: dict[str, tuple[str | None, Literal["manifest", "sidecar"] | None]] = {}
    sidecar_text: dict[str, str | None] = {}
    for name in names:
        manifest_caption = given.get(name)
        if isinstance(manifest_caption, str) and (bad := control_character(manifest_caption)):
            dataset.error(
                sink,
                ("spec", "captions", name),
                f"caption of {quote(name)} contains the control character {bad}; {PLAIN_TEXT_FIX}",
            )
            result[name] = (None, None)
            continue
        if isinstance(manifest_caption, str) and manifest_caption.strip():
            result[name] = (manifest_caption.strip(), "manifest")
            continue
        stem = os.path.splitext(name)[0]
        if stem in sidecars and stem not in sidecar_text:
            sidecar_text[stem] = _read_sidecar(dataset, sidecars[stem], sink)
        text = sidecar_text.get(stem)
        result[name] = (text, "sidecar") if text else (None, None)
    return result


def _read_sidecar(dataset: Resource, sidecar: _File, sink: DiagnosticSink) -> str | None:
    if sidecar.size > MAX_SIDECAR_BYTES:
        dataset.error(
            sink,
            _WHERE,
            f"caption file {quote(sidecar.name)} is {sidecar.size:,} bytes; captions are "
            f"limited to {MAX_SIDECAR_BYTES:,}",
        )
        return None
    try:
        with open(sidecar.path, "rb") as handle:
            raw = handle.read(MAX_SIDECAR_BYTES).decode("utf-8-sig")
    except OSError as err:
        dataset.error(sink, _WHERE, f"caption file {quote(sidecar.name)} cannot be read: {err}")
        return None
    except UnicodeDecodeError:
        dataset.error(
            sink, _WHERE, f"caption file {quote(sidecar.name)} is not UTF-8 text; save it as UTF-8"
        )
        return None
    for number, line in enumerate(raw.split("\n"), start=1):
        if (bad := control_character(line)) is not None:
            dataset.error(
                sink,
                _WHERE,
                f"caption file {_in_folder(dataset, sidecar.name)} contains the control "
                f"character {bad} at line {number}; {PLAIN_TEXT_FIX}",
            )
            return None
    text = raw.strip()
    if not text:
        dataset.warning(
            sink,
            _WHERE,
            f"caption file {quote(sidecar.name)} is empty; its image gets Bria's automatic caption",
        )
        return None
    return text


def _warn_duplicates(
    dataset: Resource, images: tuple[DesiredImage, ...], sink: DiagnosticSink
) -> None:
    by_digest: dict[str, list[str]] = defaultdict(list)
    for image in images:
        by_digest[image.digest].append(image.file_name)
    for names in by_digest.values():
        if len(names) > 1:
            listed = ", ".join(quote(n) for n in names)
            dataset.warning(
                sink,
                _WHERE,
                f"images {listed} have identical content; Bria would train on the same picture "
                "more than once",
            )


def _image_error(dataset: Resource, f: _File, problem: str, sink: DiagnosticSink) -> None:
    dataset.error(sink, _WHERE, f"image {_in_folder(dataset, f.name)} {problem}")


def _round_tripping_name(name: str, preferred_extension: str) -> str:
    """`name` without surrounding spaces and dots, given `preferred_extension` unless it then has
    a known one and survives the remote naming scheme."""
    base = name.strip(" .") or "image"
    known = os.path.splitext(base)[1].lower() in EXTENSION_FORMATS
    if known and image_name_problem(base) is None:
        return base
    return base + preferred_extension


def _in_folder(dataset: Resource, name: str) -> str:
    """`'a.png' in 'images/lora'`: a file named with the folder it was found in."""
    return f"{quote(name)} in {quote(dataset.text('images'))}"


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
