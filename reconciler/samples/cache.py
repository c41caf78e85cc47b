"""The sample results already paid for, under `.reconciler/samples/<key>/`.

The key is the SHA-256 of the model id, the route and the exact parameters sent (prompt, seed,
num_results, aspect ratio, steps, fast): the same request to the same model version gives the
same images (fixed seed), so a result is generated once and reused by every later run. An entry
is written files first, `meta.json` last: an entry without it (an interrupted run) is not one.

Between the call and the download, `pending.json` holds the result URLs Bria answered with
(`reconciler.generation.paid`, shared with `generate`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.generation.paid import PendingResults
from reconciler.generation.results import Image
from reconciler.generation.rules import GenerationRequest

CACHE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class CachedResult:
    key: str
    files: tuple[Path, ...]
    seeds: tuple[int | None, ...]


class SampleCache(PendingResults):
    """Finished sample results (`meta.json` and the images), beside the pending URLs."""

    def get(self, key: str) -> CachedResult | None:
        folder = self.root / key
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        files = tuple(folder / str(name) for name in meta.get("files", []))
        if meta.get("format_version") != CACHE_FORMAT_VERSION or not files:
            return None
        if not all(file.is_file() for file in files):
            return None
        seeds = tuple(s if isinstance(s, int) else None for s in meta.get("seeds", []))
        return CachedResult(key, files, seeds + (None,) * (len(files) - len(seeds)))

    def put(
        self, key: str, request: GenerationRequest, label: str, images: Sequence[Image]
    ) -> CachedResult:
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for index, image in enumerate(images, start=1):
            name = f"{index}{image.extension}"
            (folder / name).write_bytes(image.data)
            names.append(name)
        meta: dict[str, Any] = {
            "format_version": CACHE_FORMAT_VERSION,
            "model": label,
            "model_id": request.model_id,
            "route": request.route,
            "request": dict(request.described),
            "files": names,
            "seeds": [image.seed for image in images],
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        self.drop_pending(key)
        return CachedResult(key, tuple(folder / n for n in names), tuple(i.seed for i in images))
