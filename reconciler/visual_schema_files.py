"""What `reconciler schema generate` sends and where it writes (pure: no I/O, no client).

Bria's current generation makes a dataset's visual schema from 5-10 sample images
(`POST /tailored-gen/generate_visual_schema`). The command picks them from the dataset's folder
(spread evenly over its sorted file names, so the sample covers the set and is the same on every
run) unless `--images` names them, and writes the answer to a JSON file for review in a pull
request: the file spec.visual_schema names, else `<dataset>.visual-schema.json` beside the
manifest. It is never sent to Bria by this command; a manifest pointing at it is what applies it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import UsageError
from reconciler.state import DesiredDataset

MIN_SAMPLES = 5
MAX_SAMPLES = 10


def pick_samples(paths: Sequence[str]) -> list[str]:
    """Up to 10 of `paths` spread evenly over their sorted order (all of them when <= 10)."""
    ordered = sorted(paths)
    if len(ordered) <= MAX_SAMPLES:
        return ordered
    last = len(ordered) - 1
    return [ordered[round(i * last / (MAX_SAMPLES - 1))] for i in range(MAX_SAMPLES)]


def sample_images(dataset: DesiredDataset, given: Sequence[str], label: str) -> list[str]:
    """The image files to send: `given` (--images), else a pick of the dataset's folder."""
    chosen = list(given) if given else pick_samples([image.path for image in dataset.images])
    if not MIN_SAMPLES <= len(chosen) <= MAX_SAMPLES:
        where = "--images gives" if given else f"dataset '{label}' has"
        raise UsageError(
            f"{where} {len(chosen)} images; Generate Visual Schema takes {MIN_SAMPLES}-"
            f"{MAX_SAMPLES} sample images (pass --images FILE five to ten times)"
        )
    return chosen


def schema_output_path(dataset: DesiredDataset, manifest_file: Path, out: str | None) -> Path:
    """--out, else the file spec.visual_schema names, else `<name>.visual-schema.json` beside
    the manifest."""
    if out:
        return Path(out)
    if dataset.visual_schema_file:
        return Path(dataset.visual_schema_file)
    return manifest_file.parent / f"{dataset.name}.visual-schema.json"


def schema_file_text(visual_schema: str) -> str:
    """The schema as a reviewable file: pretty JSON in Bria's key order, or the text as given
    when Bria's answer is not JSON (then a reviewer sees exactly that)."""
    try:
        parsed = json.loads(visual_schema)
    except json.JSONDecodeError:
        return visual_schema if visual_schema.endswith("\n") else visual_schema + "\n"
    return json.dumps(parsed, indent=2, ensure_ascii=False) + "\n"
