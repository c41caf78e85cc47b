"""The current generation's visual schema and structured captions, deterministic for tests.

Bria's published OpenAPI replaces the caption prefix with a `visual_schema`: a JSON string made
by `POST /tailored-gen/generate_visual_schema` from 5-10 sample images, saved on a draft dataset,
and used to caption each uploaded image with a JSON structure. The real ones come from a VLM;
here a hash of the images (for the schema) or of the schema and the image (for a caption) picks
the words, so the same inputs always give the same output.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from reconciler.emulator import images
from reconciler.emulator.captions import _ACTIONS, _DETAILS, _SETTINGS
from reconciler.emulator.rules import ApiError, require_object

MIN_SCHEMA_IMAGES = 5
MAX_SCHEMA_IMAGES = 10

_STYLES = (
    "flat vector illustration",
    "soft watercolor painting",
    "clean 3D render",
    "bold comic ink",
    "natural studio photography",
    "muted pastel drawing",
)
_PALETTES = (
    ["purple", "teal", "white"],
    ["red", "gold", "black"],
    ["sky blue", "sand", "coral"],
    ["forest green", "cream", "brown"],
    ["charcoal", "orange", "grey"],
)
_SUBJECTS = ("a recurring character", "a set of objects", "a stylized scene", "an icon family")


def schema_images(body: Any) -> list[str]:
    """The `images` of a Generate Visual Schema request: 5-10 strings (base64 or URLs)."""
    body = require_object(body)
    given = body.get("images")
    if not isinstance(given, list) or not all(isinstance(item, str) for item in given):
        raise ApiError(400, "Invalid images: must be an array of base64 strings or URLs")
    if not MIN_SCHEMA_IMAGES <= len(given) <= MAX_SCHEMA_IMAGES:
        raise ApiError(
            400,
            f"Invalid number of images: {len(given)} given, provide "
            f"{MIN_SCHEMA_IMAGES}-{MAX_SCHEMA_IMAGES} images",
        )
    moderation = body.get("content_moderation", False)
    if not isinstance(moderation, bool):
        raise ApiError(400, "Invalid content_moderation: must be a boolean")
    return given


def image_digest(data: bytes) -> str:
    """The sha256 of a sample image, after checking it is one (415 otherwise)."""
    images.sniff(data)
    return hashlib.sha256(data).hexdigest()


def visual_schema_for(digests: list[str]) -> str:
    """A visual schema (a JSON string) for these sample images, whatever their order."""
    seed = hashlib.sha256("\0".join(sorted(digests)).encode()).digest()
    schema = {
        "style": _STYLES[seed[0] % len(_STYLES)],
        "colors": _PALETTES[seed[1] % len(_PALETTES)],
        "subject": _SUBJECTS[seed[2] % len(_SUBJECTS)],
        "composition": "subject centered, most of the frame",
        "background": "plain" if seed[3] % 2 else "detailed environment",
    }
    return json.dumps(schema, sort_keys=True)


def check_schema_text(value: Any, field: str = "visual_schema") -> str:
    """A visual schema or a manual caption: a string holding a JSON object."""
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"Invalid {field}: must be a string containing a JSON structure")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise ApiError(
            400, f"Invalid {field}: must be a string containing a valid JSON structure"
        ) from None
    if not isinstance(parsed, dict):
        raise ApiError(400, f"Invalid {field}: the JSON structure must be an object")
    return value


def structured_caption(visual_schema: str, image_sha256: str) -> str:
    """An image's automatic caption under a schema: a JSON string naming the schema's style."""
    digest = hashlib.sha256(f"{visual_schema}\0{image_sha256}".encode()).digest()
    try:
        style = json.loads(visual_schema).get("style", "unspecified")
    except (json.JSONDecodeError, AttributeError):
        style = "unspecified"
    caption = {
        "style": style,
        "action": _ACTIONS[digest[0] % len(_ACTIONS)],
        "setting": _SETTINGS[digest[1] % len(_SETTINGS)],
        "details": _DETAILS[digest[2] % len(_DETAILS)],
    }
    return json.dumps(caption, sort_keys=True)


def generate_visual_schema(body: Any, fetch_url: Callable[[str], bytes]) -> dict[str, Any]:
    """Generate Visual Schema: 5-10 images (base64 or public URLs) -> `{"visual_schema": ...}`."""
    digests = []
    for item in schema_images(body):
        if item.startswith(("http://", "https://")):
            data = fetch_url(item)
        else:
            data = images.decode_base64(item, "images")
        digests.append(image_digest(data))
    return {"visual_schema": visual_schema_for(digests)}
