"""Small thumbnails of a plan's local images, as `data:` URIs the HTML plan embeds.

The HTML plan is one self-contained file (a CI artifact, opened anywhere), so its pictures are
embedded: each local image shrunk with Pillow to at most `SIZE` pixels and encoded as a JPEG of
a few kilobytes. Images with no local file (removed from the dataset, or a saved plan shown on
another machine) get a drawn placeholder, so every picture on the page loads. The same files give
the same bytes, so `show --format html` prints exactly what `plan --format html` printed.
"""

from __future__ import annotations

import base64
import functools
import io
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageDraw

SIZE = 160
QUALITY = 72
PARALLELISM = 4
# Large enough for any image Bria takes (12 MB files); refuses decompression bombs.
_MAX_PIXELS = 100_000_000


def thumbnails(paths: Iterable[str]) -> dict[str, str | None]:
    """path -> data URI of its thumbnail, or None when the file cannot be read as an image."""
    unique = sorted(set(paths))
    if len(unique) < 2:
        return {path: thumbnail(path) for path in unique}
    with ThreadPoolExecutor(max_workers=min(PARALLELISM, os.cpu_count() or 1)) as pool:
        return dict(zip(unique, pool.map(thumbnail, unique), strict=True))


def thumbnail(path: str) -> str | None:
    try:
        with Image.open(path) as image:
            if image.width * image.height > _MAX_PIXELS:
                return None
            image.draft("RGB", (SIZE * 2, SIZE * 2))  # JPEG: decode at a reduced size
            small = _flatten(image)
            small.thumbnail((SIZE, SIZE), Image.Resampling.LANCZOS)
            return _data_uri(small)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


@functools.cache
def placeholder(kind: str) -> str:
    """A drawn tile for an image without a local file: "removed" (struck) or "missing"."""
    tile = Image.new("RGB", (SIZE, SIZE), (244, 241, 236) if kind == "removed" else (236, 238, 242))
    draw = ImageDraw.Draw(tile)
    ink = (196, 86, 74) if kind == "removed" else (140, 148, 160)
    margin = SIZE // 4
    draw.rectangle((margin, margin, SIZE - margin, SIZE - margin), outline=ink, width=3)
    if kind == "removed":
        draw.line((margin, margin, SIZE - margin, SIZE - margin), fill=ink, width=3)
        draw.line((margin, SIZE - margin, SIZE - margin, margin), fill=ink, width=3)
    else:
        draw.ellipse((SIZE // 2 - 6, SIZE // 2 - 6, SIZE // 2 + 6, SIZE // 2 + 6), fill=ink)
    return _data_uri(tile)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (as a viewer would show it)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
