"""Reads the image files a generation request names (guidance, IP-Adapter, structure images).

Each is read once and decoded like a training image (`manifest.image_probe`: jpeg, png or webp
only, at most 12 MB, decompression bombs refused), so `rules.check_request` can refuse a file
Bria would refuse, with the file's name and the reason, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reconciler.generation.rules import GenerationOptions, ImageInput
from reconciler.manifest.image_probe import probe_image


def image_paths(options: GenerationOptions) -> list[str]:
    """Every image file `options` names, in the order given."""
    paths = [guidance.image for guidance in options.guidance if guidance.image]
    for extra in (options.image_prompt, options.structure_image):
        if extra:
            paths.append(extra)
    return paths


def read_image(path: str) -> ImageInput:
    file = Path(path)
    if not file.is_file():
        problem = "is a directory" if file.is_dir() else "does not exist"
        return ImageInput(path, None, None, problem=problem)
    probe = probe_image(path)
    if probe.facts is None:
        return ImageInput(path, None, None, problem=probe.problem)
    try:
        data = file.read_bytes()
    except OSError as err:
        return ImageInput(path, None, None, problem=f"cannot be read ({err.strerror})")
    facts = probe.facts
    return ImageInput(path, data, facts.format, facts.width, facts.height)


def read_images(paths: Iterable[str]) -> dict[str, ImageInput]:
    return {path: read_image(path) for path in dict.fromkeys(paths)}
