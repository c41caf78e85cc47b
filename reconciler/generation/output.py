"""Writes downloaded results next to a JSON sidecar of the request that made them.

The sidecar is what reproduces an image: the model (label and id), the route, the parameters
sent (images named by file and SHA-256, not embedded) and the result's seed. It never holds the
API token, which no part of a request body carries.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.generation.results import Image
from reconciler.generation.rules import GenerationRequest
from reconciler.secrets import redact

SIDECAR_FORMAT_VERSION = 1


class OutputFolderError(ReconcilerError):
    """The folder results go to cannot be written; said before anything is generated."""


def require_writable_folder(folder: Path, what: str = "--out") -> None:
    """Create `folder` and prove a file can be written in it, or OutputFolderError (one line).

    Called before the first generation call: an image Bria generated (and charged for) must not
    be lost because its folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        if isinstance(err, FileExistsError) or (folder.exists() and not folder.is_dir()):
            reason = "it is not a folder"
        raise OutputFolderError(
            f"cannot write the results to '{os.fspath(folder)}' ({what}): {reason}; nothing was "
            "generated"
        ) from err


def default_out_dir(label: str) -> Path:
    """`./generated/PROJECT/MODEL~N/` for the label `PROJECT/MODEL~N`."""
    project, _, model = label.partition("/")
    return Path("generated") / project / model


def sidecar(request: GenerationRequest, label: str, image: Image, index: int) -> dict[str, object]:
    return {
        "format_version": SIDECAR_FORMAT_VERSION,
        "model": label,
        "model_id": request.model_id,
        "route": request.route,
        "request": dict(request.described),
        "result": {"index": index, "seed": image.seed},
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def write_images(
    images: Sequence[Image], request: GenerationRequest, label: str, out_dir: Path
) -> list[Path]:
    """Each image as `<time>-<n>[-seed<S>]<ext>` with `<same>.json` beside it; the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    written: list[Path] = []
    for index, image in enumerate(images, start=1):
        stem = f"{stamp}-{index}" + (f"-seed{image.seed}" if image.seed is not None else "")
        number = 2
        while (out_dir / f"{stem}{image.extension}").exists():
            stem = f"{stamp}-{index}-{number}" + (
                f"-seed{image.seed}" if image.seed is not None else ""
            )
            number += 1
        path = out_dir / f"{stem}{image.extension}"
        path.write_bytes(image.data)
        text = json.dumps(sidecar(request, label, image, index), indent=2) + "\n"
        (out_dir / f"{stem}.json").write_text(redact(text), encoding="utf-8")
        written.append(path)
    return written
