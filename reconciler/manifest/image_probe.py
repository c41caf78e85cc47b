"""Reads one image file and says what it really is: format, size, transparency, digest.

Training images come from pull requests, so they are treated as hostile input: the file is
read once (at most `MAX_IMAGE_BYTES`), hashed, and decoded by Pillow restricted to the three
formats Bria accepts, with the pixel count checked before any decoding so a small file that
expands into gigabytes (a decompression bomb) is refused, not decoded. Anything Pillow cannot
decode (truncated, corrupt) becomes a problem description, never an exception.

Pillow's global `Image.MAX_IMAGE_PIXELS` is left alone (the emulator sets its own); the limit
here is checked explicitly, and Pillow's bomb warning is turned into an error while decoding.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from reconciler.manifest.digests import FORMATS, ImageFacts

# "Maximum file size 12MB", read as decimal megabytes: the stricter reading, so nothing validate
# accepts can be refused for its size by Bria
MAX_IMAGE_BYTES = 12_000_000
MIN_SIDE = 1024  # "Minimum resolution: 1024x1024 pixels"
MAX_IMAGE_PIXELS = 40_000_000  # ~6300x6300: far above any training image, far below a bomb
FORMAT_NAMES = {name: name.lower() for name in FORMATS}  # JPEG -> jpeg, for messages
EXTENSION_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
PREFERRED_EXTENSION = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}

_MAGIC = (
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x89PNG", "a damaged PNG image"),
    (b"\xff\xd8\xff", "a damaged JPEG image"),
    (b"RIFF", "a damaged or non-image RIFF file"),
)


@dataclass(frozen=True)
class Probe:
    """The facts of one image, or why there are none; `bytes_read` for the statistics."""

    facts: ImageFacts | None
    problem: str | None
    bytes_read: int


def probe_image(path: str) -> Probe:
    """Read, hash and decode the image at `path` (already checked to be a regular file)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except OSError as err:
        return Probe(None, f"cannot be read ({err.strerror})", 0)
    if len(data) > MAX_IMAGE_BYTES:
        return Probe(None, size_problem(len(data)), len(data))
    if not data:
        return Probe(None, "is empty (0 bytes)", 0)
    digest = hashlib.sha256(data).hexdigest()
    facts, problem = _decode(data, digest)
    return Probe(facts, problem, len(data))


def size_problem(size: int) -> str:
    return (
        f"is {size / 1_000_000:.1f} MB ({size:,} bytes); Bria accepts at most 12 MB "
        f"({MAX_IMAGE_BYTES:,} bytes) per image"
    )


def _decode(data: bytes, digest: str) -> tuple[ImageFacts | None, str | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(FORMAT_NAMES)) as image:
                fmt = str(image.format)
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return None, _bomb(width, height)
                image.load()
                has_alpha = _has_alpha(image)
        except UnidentifiedImageError:
            return None, f"is not a jpeg, png or webp image (its content looks like {_sniff(data)})"
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return None, _bomb(None, None)
        except Exception as err:  # hostile bytes may fail anywhere inside a decoder
            reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
            return None, f"could not be decoded ({reason}); the file is truncated or corrupt"
    return ImageFacts(digest, fmt, width, height, has_alpha), None


def _has_alpha(image: Image.Image) -> bool:
    """True when a pixel is not fully opaque, or the file declares a transparent colour."""
    if "transparency" in image.info:
        return True
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        lowest = image.getchannel("A").getextrema()[0]  # a single band: (min, max)
        return isinstance(lowest, int | float) and lowest < 255
    return False


def _bomb(width: int | None, height: int | None) -> str:
    size = f" ({width}x{height} pixels)" if width and height else ""
    return (
        f"has too many pixels{size}; images over {MAX_IMAGE_PIXELS:,} pixels are refused "
        "unread (a possible decompression bomb)"
    )


def _sniff(data: bytes) -> str:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "a HEIC image"
    if data[4:12] == b"ftypavif":
        return "an AVIF image"
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 3:  # not merely a character cut at the 512-byte edge
            return "unknown binary data"
        text = head[: err.start].decode("utf-8")
    return (
        "text" if all(ch.isprintable() or ch in "\r\n\t" for ch in text) else "unknown binary data"
    )
