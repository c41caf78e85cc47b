"""Image checks by content, as Bria does them: decode base64, sniff the bytes with Pillow
(never trust a name or a declared type), enforce the size and resolution limits, and store a
normalised copy. Also draws the small PNG/SVG files the generation routes return.

Bria converts transparent backgrounds to black, so the emulator stores every upload as an
opaque PNG: JPEG, WEBP and PNGs with transparency are re-encoded (alpha flattened on black);
opaque PNGs are stored as uploaded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from reconciler.emulator.rules import ApiError

MAX_FILE_BYTES = 12 * 1024 * 1024
MIN_SIDE = 1024
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
THUMBNAIL_SIDE = 256
# Far above any real upload: more pixels than this is 400, told by the header alone. Pillow's
# own bomb limit is raised to it (Pillow only warns up to twice its limit; we refuse at it).
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_DATA_URL = re.compile(r"^data:[\w/+.-]+;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CheckedImage:
    """An accepted upload: normalised PNG bytes plus what the API reports about it."""

    png: bytes
    sha256: str
    width: int
    height: int
    source_format: str  # JPEG | PNG | WEBP


def decode_base64(value: str, field: str) -> bytes:
    """Base64 (optionally a data: URL) -> bytes, or 400 naming the field."""
    text = _DATA_URL.sub("", value.strip(), count=1)
    try:  # most uploads are one unbroken line: no whitespace pass over megabytes of text
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:  # wrapped over lines or spaced: the same digits without the whitespace
        return base64.b64decode(_WHITESPACE.sub("", text), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"Invalid {field}: the value is not valid base64") from None


def sniff(data: bytes, *, what: str = "Image") -> tuple[Image.Image, str]:
    """Open and verify the bytes as an image of an accepted format, or 413/415/400.

    The returned image is only good for its header facts (size, mode, info): `verify()`
    checks integrity without a full decode, and leaves the object unusable for pixels.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(413, f"{what} file is too large: maximum file size is 12MB")
    unsupported = ApiError(415, "Invalid file type. Supported file types are jpeg, jpg, png, webp")
    if not data:
        raise unsupported
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
        if opened.format not in ACCEPTED_FORMATS:
            raise unsupported
        if opened.width * opened.height > MAX_PIXELS:
            raise Image.DecompressionBombError(f"{opened.width}x{opened.height}")
        opened.verify()
    except Image.DecompressionBombError:
        raise ApiError(400, f"{what} has too many pixels to process") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise unsupported from None
    return opened, str(opened.format)


def check_upload(data: bytes) -> CheckedImage:
    """The dataset upload checks: 413 size, 415 type, 412 resolution; then normalise."""
    header, source_format = sniff(data)
    width, height = header.size
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ApiError(
            412,
            f"Image resolution is {width}x{height}; the minimum resolution is "
            f"{MIN_SIDE}x{MIN_SIDE} pixels",
        )
    if source_format == "PNG" and header.mode in ("RGB", "L") and "transparency" not in header.info:
        png = data  # already an opaque PNG: nothing to convert
    else:
        try:
            with Image.open(io.BytesIO(data)) as opened:
                png = _normalised_png(opened)
        except (OSError, SyntaxError, ValueError):
            raise ApiError(
                415, "Invalid file type. Supported file types are jpeg, jpg, png, webp"
            ) from None
    return CheckedImage(png, hashlib.sha256(png).hexdigest(), width, height, source_format)


def _normalised_png(opened: Image.Image) -> bytes:
    """RGB PNG; transparency becomes black, as Bria documents."""
    if opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info:
        rgba = opened.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (0, 0, 0))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = opened.convert("RGB")
    out = io.BytesIO()
    flat.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def thumbnail(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as opened:
        small = opened.convert("RGB")
        small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=80)
        return out.getvalue()


def aspect_ratio_of(data: bytes) -> float:
    opened, _ = sniff(data, what="Guidance image")
    width, height = opened.size
    return width / height


def result_png(seed: int, aspect_ratio: str) -> bytes:
    """A small solid-colour PNG whose colour follows the seed, shaped like the aspect ratio."""
    across, down = (int(part) for part in aspect_ratio.split(":"))
    scale = 64 / max(across, down)
    size = (max(1, round(across * scale)), max(1, round(down * scale)))
    digest = hashlib.sha256(str(seed).encode()).digest()
    out = io.BytesIO()
    Image.new("RGB", size, (digest[0], digest[1], digest[2])).save(out, format="PNG")
    return out.getvalue()


def result_svg(seed: int, aspect_ratio: str) -> bytes:
    across, down = (int(part) for part in aspect_ratio.split(":"))
    digest = hashlib.sha256(str(seed).encode()).hexdigest()
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {across * 64} {down * 64}">'
        f'<rect width="100%" height="100%" fill="#{digest[:6]}"/></svg>'
    ).encode()
