"""Builders for manifest trees in tmp_path: a fake repository, manifests, real image files.

Not a test module itself (it holds no tests); the manifest and validate tests import it. Images
are real encoded files (Pillow), each with a distinct pixel so their digests differ.
"""

from __future__ import annotations

import io
import itertools
import json
import struct
import textwrap
import zlib
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from PIL import Image

from reconciler.cli import cli

_distinct = itertools.count(1)


def make_repo(root: Path) -> Path:
    """`root` as a git work tree (a `.git` folder is all the repository check looks for)."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    return root


def write(path: Path, text: str) -> Path:
    """Write dedented `text` (leading newline dropped) to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def image_bytes(
    size: tuple[int, int] = (1024, 1024),
    fmt: str = "PNG",
    mode: str = "RGB",
    alpha: int = 255,
) -> bytes:
    """An encoded image; every call differs by one pixel, so digests never collide."""
    n = next(_distinct)
    color: tuple[int, ...] = (n % 256, (n // 256) % 256, 77)
    if mode == "RGBA":
        color = (*color, alpha)
    image = Image.new(mode, size, color)
    image.putpixel((0, 0), (255 - n % 256, 3, 5, 255)[: len(mode)])
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def add_images(folder: Path, count: int, prefix: str = "img", fmt: str = "PNG") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[fmt]
    paths = []
    for i in range(1, count + 1):
        path = folder / f"{prefix}-{i:03d}.{ext}"
        path.write_bytes(image_bytes(fmt=fmt))
        paths.append(path)
    return paths


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width`x`height` pixels but holds one compressed row: a bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    data = zlib.compress(b"\x00" * (width + 1))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


PROJECT = """\
apiVersion: tailored-gen/v1
kind: Project
metadata:
  name: lora
spec:
  ip_type: defined_character
  ip_medium: illustration
  ip_name: Lora
  ip_description: a female character with purple hair
"""


def validate(*args: str) -> tuple[int, dict[str, Any]]:
    """Run `reconciler validate --format json ARGS` in-process: (exit code, parsed output)."""
    result = CliRunner().invoke(cli, ["validate", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def located(report: dict[str, Any], severity: str = "error") -> list[tuple[str, int, str]]:
    """(file, line, message) of every diagnostic of `severity` in a JSON report."""
    return [
        (d["file"], d["line"], d["message"])
        for d in report["diagnostics"]
        if d["severity"] == severity
    ]
