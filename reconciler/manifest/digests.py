"""Remembers what reading an image taught us, so a no-change run reads no image bytes.

Hashing and decoding thousands of training images on every `plan` would dominate its run time,
so the facts are cached in one JSON file keyed by (absolute path, size, mtime_ns): the same key
git uses to trust its index. A file touched within `RACY_SECONDS` of the run is not cached,
since a second write in the same clock tick could keep size and mtime (git's "racy" case).

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
CACHE_VERSION = 1
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
class _Key:
    size: int
    mtime_ns: int


class DigestCache:
    """Image facts by (absolute path, size, mtime_ns); `directory=None` keeps them in memory."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / CACHE_FILE if directory is not None else None
        self._entries: dict[str, tuple[_Key, ImageFacts]] = {}
        self._changed = False
        self._started = time.time()
        if self.path is not None:
            self._entries = _read(self.path)

    def get(self, path: str, size: int, mtime_ns: int) -> ImageFacts | None:
        entry = self._entries.get(path)
        if entry is None or entry[0] != _Key(size, mtime_ns):
            return None
        return entry[1]

    def put(self, path: str, size: int, mtime_ns: int, facts: ImageFacts) -> None:
        if mtime_ns / 1e9 > self._started - RACY_SECONDS:
            return  # too fresh to trust: a same-size rewrite in this tick would go unnoticed
        if self.get(path, size, mtime_ns) == facts:
            return
        self._entries[path] = (_Key(size, mtime_ns), facts)
        self._changed = True

    def save(self) -> None:
        """Write the cache if anything changed, dropping entries whose file is gone."""
        if self.path is None or not self._changed:
            return
        entries = {
            path: {"size": key.size, "mtime_ns": key.mtime_ns, **asdict(facts)}
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


def _read(path: Path) -> dict[str, tuple[_Key, ImageFacts]]:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("version") != CACHE_VERSION:
        return {}
    images = raw.get("images")
    if not isinstance(images, dict):
        return {}
    entries: dict[str, tuple[_Key, ImageFacts]] = {}
    for image_path, item in images.items():
        entry = _entry(item)
        if entry is not None and isinstance(image_path, str):
            entries[image_path] = entry
    return entries


def _entry(item: Any) -> tuple[_Key, ImageFacts] | None:
    """One cache record, or None when any field is missing or of the wrong type."""
    if not isinstance(item, dict):
        return None
    ints = ("size", "mtime_ns", "width", "height")
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
    return _Key(item["size"], item["mtime_ns"]), facts
