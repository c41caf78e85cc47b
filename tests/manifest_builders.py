"""Build manifest trees with real images in a temporary folder, for end-to-end tests.

`ManifestTree` keeps the manifests as plain dicts; tests edit them (add an image, change a caption,
bump a training_version) and call `write()` again. Images are real 1024x1024 PNGs drawn with
Pillow from a seed, so the same seed gives the same bytes (and digest) and a new seed a new file.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, ImageDraw

API_VERSION = "tailored-gen/v1"
_PNG_CACHE: dict[tuple[int, int], bytes] = {}


def png_bytes(seed: int, size: int = 1024) -> bytes:
    """A deterministic, distinct PNG for each seed (a few KB: flat shapes)."""
    key = (seed, size)
    if key not in _PNG_CACHE:
        colour = ((seed * 67) % 256, (seed * 131) % 256, (seed * 199) % 256)
        image = Image.new("RGB", (size, size), colour)
        draw = ImageDraw.Draw(image)
        offset = (seed * 37) % (size // 2)
        draw.rectangle(
            (offset, offset, offset + size // 4, offset + size // 3), fill=(255 - colour[0], 0, 0)
        )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        _PNG_CACHE[key] = buffer.getvalue()
    return _PNG_CACHE[key]


@dataclass
class ManifestTree:
    """Manifests under `root/manifests/`, images under `root/manifests/images/<dataset>/`."""

    root: Path
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    models: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    images: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # file -> seed

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    def project(
        self,
        name: str,
        *,
        ip_type: str = "defined_character",
        ip_medium: str = "illustration",
        ip_name: str | None = "Lora",
        ip_description: str | None = "a girl with purple hair",
        description: str | None = None,
        **metadata: Any,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"ip_type": ip_type, "ip_medium": ip_medium}
        if ip_name is not None:
            spec["ip_name"] = ip_name
        if ip_description is not None:
            spec["ip_description"] = ip_description
        if description is not None:
            spec["description"] = description
        doc = {"apiVersion": API_VERSION, "kind": "Project", "metadata": {"name": name, **metadata},
               "spec": spec}  # fmt: skip
        self.projects[name] = doc
        return doc

    def dataset(
        self,
        project: str,
        name: str,
        images: dict[str, int],
        *,
        captions: dict[str, str] | None = None,
        caption_prefix: str | None = None,
        status: str = "completed",
        **metadata: Any,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"images": f"images/{project}/{name}", "status": status}
        if captions:
            spec["captions"] = dict(captions)
        if caption_prefix is not None:
            spec["caption_prefix"] = caption_prefix
        meta = {"name": name, "project": project, **metadata}
        doc = {"apiVersion": API_VERSION, "kind": "Dataset", "metadata": meta, "spec": spec}
        self.datasets[(project, name)] = doc
        self.images[(project, name)] = dict(images)
        return doc

    def model(
        self,
        project: str,
        name: str,
        dataset: str,
        *,
        training_version: str = "light",
        description: str | None = None,
        **metadata: Any,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"dataset": dataset, "training_version": training_version}
        if description is not None:
            spec["description"] = description
        meta = {"name": name, "project": project, **metadata}
        doc = {"apiVersion": API_VERSION, "kind": "Model", "metadata": meta, "spec": spec}
        self.models[(project, name)] = doc
        return doc

    def write(self) -> Path:
        """(Re)write every manifest and image folder; returns the manifests folder."""
        self.manifests.mkdir(parents=True, exist_ok=True)
        for old in self.manifests.glob("*.yaml"):
            old.unlink()
        for (project, name), files in self.images.items():
            folder = self.manifests / "images" / project / name
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.iterdir():
                if stale.name not in files:
                    stale.unlink()
            for file_name, seed in files.items():
                path = folder / file_name
                content = png_bytes(seed)
                if not path.exists() or path.read_bytes() != content:
                    path.write_bytes(content)
        for name, doc in self.projects.items():
            docs = [doc]
            docs += [d for (p, _), d in sorted(self.datasets.items()) if p == name]
            docs += [m for (p, _), m in sorted(self.models.items()) if p == name]
            text = yaml.safe_dump_all(docs, sort_keys=False)
            (self.manifests / f"{name}.yaml").write_text(text, encoding="utf-8")
        return self.manifests


def png_variant(seed: int, n: int) -> bytes:
    """A 1024 px palette PNG drawn from `seed`, made a distinct file by a text chunk naming `n`
    (the same picture): for tests that need hundreds of valid, distinct images cheaply (no
    encoding per file, and a palette image decodes 3x faster than RGB for thumbnails)."""
    key = (seed, -1)
    if key not in _PNG_CACHE:
        image = Image.new("P", (1024, 1024), 0)
        colour = [(seed * 67) % 256, (seed * 131) % 256, (seed * 199) % 256]
        image.putpalette(colour + [255 - colour[0], 0, 0])
        offset = (seed * 37) % 512
        ImageDraw.Draw(image).rectangle((offset, offset, offset + 256, offset + 341), fill=1)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        _PNG_CACHE[key] = buffer.getvalue()
    base = _PNG_CACHE[key]
    data = b"Comment\x00" + f"variant {n}".encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return base[:33] + chunk + base[33:]  # after the signature (8) and the IHDR chunk (25)


def image_files(count: int, *, prefix: str = "img", first_seed: int = 1) -> dict[str, int]:
    """`{"img-01.png": 1, "img-02.png": 2, ...}`."""
    return {f"{prefix}-{i:02d}.png": first_seed + i - 1 for i in range(1, count + 1)}


def standard_tree(root: Path, *, images: int = 3) -> ManifestTree:
    """One project `lora` with a completed dataset `lora-v1` and a light model `lora-light`."""
    tree = ManifestTree(root)
    tree.project("lora")
    files = image_files(images, prefix="lora")
    tree.dataset(
        "lora",
        "lora-v1",
        files,
        captions={"lora-01.png": "standing on a beach at sunset"},
        caption_prefix="An illustration of a character named Lora,",
    )
    tree.model("lora", "lora-light", "lora-v1")
    return tree


def example_like_tree(root: Path, *, lora_images: int = 8, icon_images: int = 6) -> ManifestTree:
    """Like examples/manifests, smaller: `lora` (defined_character) with a light and a max model
    on one dataset with a caption prefix and manifest captions; `acme-icons` (icons) with one
    light model and automatic captions."""
    tree = ManifestTree(root)
    tree.project("lora", description="Branded character")
    tree.dataset(
        "lora",
        "lora-v1",
        image_files(lora_images, prefix="lora"),
        captions={"lora-01.png": "standing on a beach", "lora-03.png": "waving at the camera"},
        caption_prefix="An illustration of a character named Lora,",
    )
    tree.model("lora", "lora-light", "lora-v1")
    tree.model("lora", "lora-max", "lora-v1", training_version="max")
    tree.project("acme-icons", ip_type="icons", ip_name=None, ip_description=None)
    tree.dataset("acme-icons", "icons-v1", image_files(icon_images, prefix="icon", first_seed=100))
    tree.model("acme-icons", "icons-light", "icons-v1", description="icon set")
    return tree
