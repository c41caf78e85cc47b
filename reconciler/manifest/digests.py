"""Remembers what reading an image taught us, so a no-change run reads no image bytes.

Hashing and decoding thousands of training images on every `plan` would dominate its run time,
so the facts are cached in one JSON file keyed by (absolute path, size, mtime_ns, inode,
ctime_ns): the stat data git uses to trust its index. Size and mtime alone are not enough: `cp
-p`, `rsync -t` and archive extraction keep both while changing the bytes, but they make a new
inode or a new ctime, which no tool can set back. A file touched within `RACY_SECONDS` of the
run is not cached, since a second write in the same clock tick could keep the key (git's "racy"
case). `forget` drops an entry that a later re-hash (apply's, before uploading) contradicted.

The cache is an optimisation only: a missing, unreadable or corrupt file is ignored, and it is
written atomically (temp file + os.replace) so a crash or a concurrent run never leaves half a
file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CACHE_FILE = "images.json"
FORMATS = ("JPEG", "PNG", "WEBP")  # Pillow's names of the formats Bria accepts
CACHE_VERSION = 2
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class ImageFacts:
    """What an image file is, learnt by reading it once."""

    sha256: str  # full hex digest of the file's bytes
    format: str  # Pillow's name: JPEG, PNG or WEBP
    width: int
    height: int
    has_alpha: bool  # some pixel is not fully opaque, or transparency is declared


@dataclass(frozen=True)
class FileKey:
    """What says a file is unchanged without reading it (`FileKey.of(os.stat(path))`)."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileKey:
        return cls(info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


class DigestCache:
    """Image facts by absolute path and `FileKey`; `directory=None` keeps them in memory."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / CACHE_FILE if directory is not None else None
        self._entries: dict[str, tuple[FileKey, ImageFacts]] = {}
        self._changed = False
        self._started = time.time()
        if self.path is not None:
            self._entries = _read(self.path)

    def get(self, path: str, key: FileKey) -> ImageFacts | None:
        entry = self._entries.get(path)
        if entry is None or entry[0] != key:
            return None
        return entry[1]

    def put(self, path: str, key: FileKey, facts: ImageFacts) -> None:
        if key.mtime_ns / 1e9 > self._started - RACY_SECONDS:
            return  # too fresh to trust: a same-size rewrite in this tick would go unnoticed
        if self.get(path, key) == facts:
            return
        self._entries[path] = (key, facts)
        self._changed = True

    def forget(self, path: str) -> None:
        """Drop `path`'s entry (its facts were found wrong); saved with the next `save`."""
        if self._entries.pop(path, None) is not None:
            self._changed = True

    def save(self) -> None:
        """Write the cache if anything changed, dropping entries whose file is gone."""
        if self.path is None or not self._changed:
            return
        entries = {
            path: {**asdict(key), **asdict(facts)}
            for path, (key, facts) in sorted(self._entries.items())
            if os.path.exists(path)
        }
        body = json.dumps({"version": CACHE_VERSION, "images": entries}, indent=0)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=".images.", dir=self.path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(body)
                os.replace(temp, self.path)
            except BaseException:
                os.unlink(temp)
                raise
        except OSError:
            return  # a read-only checkout still validates; it just stays cold
        self._changed = False


def _read(path: Path) -> dict[str, tuple[FileKey, ImageFacts]]:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("version") != CACHE_VERSION:
        return {}
    images = raw.get("images")
    if not isinstance(images, dict):
        return {}
    entries: dict[str, tuple[FileKey, ImageFacts]] = {}
    for image_path, item in images.items():
        entry = _entry(item)
        if entry is not None and isinstance(image_path, str):
            entries[image_path] = entry
    return entries


def _entry(item: Any) -> tuple[FileKey, ImageFacts] | None:
    """One cache record, or None when any field is missing or of the wrong type."""
    if not isinstance(item, dict):
        return None
    ints = ("size", "mtime_ns", "inode", "ctime_ns", "width", "height")
    if not all(type(item.get(k)) is int for k in ints):
        return None
    sha256, fmt, alpha = item.get("sha256"), item.get("format"), item.get("has_alpha")
    if not (isinstance(sha256, str) and len(sha256) == 64 and fmt in FORMATS):
        return None
    if not all(ch in "0123456789abcdef" for ch in sha256):
        return None
    if not isinstance(alpha, bool):
        return None
    facts = ImageFacts(sha256, fmt, item["width"], item["height"], alpha)
    key = FileKey(item["size"], item["mtime_ns"], item["inode"], item["ctime_ns"])
    return key, facts


def forget_cached_digest(path: str) -> None:
    """Drop `path` from the repository's digest cache (apply's re-hash contradicted it)."""
    from reconciler.workspace import cache_dir

    cache = DigestCache(cache_dir())
    cache.forget(path)
    cache.save()
