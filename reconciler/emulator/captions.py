"""Caption prefixes and automatic captions, deterministic so tests can predict them.

Bria gives each new dataset a default `caption_prefix` derived from its project, and each
uploaded image an automatic caption that continues that prefix. The real captions come from a
vision model; here the words are picked by a hash of the prefix and the image's content, so the
same prefix and the same image always give the same caption (the reference promises exactly
that for `regenerate_caption`). The templates are listed in docs/emulator.md.
"""

from __future__ import annotations

import hashlib

_OPENING = {"illustration": "An illustration", "photography": "A photo"}
_LOWERABLE_ARTICLES = ("A", "An", "The")

_SUBJECTS = {
    "multi_object_set": "of an object",
    "icons": "of an icon",
    "character_variants": "of a character",
    "stylized_scene": "of a scene",
}

_ACTIONS = (
    "standing in the center",
    "seen from the side",
    "shown from a low angle",
    "resting on a flat surface",
    "in a dynamic pose",
    "framed in a close-up view",
    "placed slightly off center",
    "shown in full view",
)
_SETTINGS = (
    "on a plain white background",
    "against a soft gradient backdrop",
    "in a sunny meadow",
    "inside a cozy room",
    "on a city street at dusk",
    "under a clear blue sky",
    "on a dark solid background",
    "near a calm lake",
)
_DETAILS = (
    "bright saturated colors",
    "soft pastel tones",
    "bold clean outlines",
    "gentle shading",
    "high contrast lighting",
    "warm muted colors",
    "crisp flat colors",
    "subtle textures",
)


def _phrase(text: str) -> str:
    """`A female character with purple hair.` -> `a female character with purple hair`."""
    text = text.strip().rstrip(".,;")
    first, _, rest = text.partition(" ")
    if first in _LOWERABLE_ARTICLES:
        return f"{first.lower()} {rest}".strip()
    return text


def default_caption_prefix(
    ip_type: str, ip_medium: str, ip_name: str | None, ip_description: str | None
) -> str:
    """The prefix a new dataset starts with, e.g.
    `An illustration of a character named Lora, a female character with purple hair,`."""
    opening = _OPENING.get(ip_medium, "An image")
    description = _phrase(ip_description) if ip_description and ip_description.strip() else ""
    if ip_type == "defined_character":
        name = (ip_name or "").strip()
        words = f"{opening} of a character named {name}"
        return f"{words}, {description}," if description else f"{words},"
    if ip_type == "object_variants":
        return f"{opening} of {description}," if description else f"{opening} of an object,"
    subject = _SUBJECTS.get(ip_type)
    return f"{opening} {subject}," if subject else f"{opening},"


def automatic_caption(caption_prefix: str, image_sha256: str) -> str:
    """The prefix continued by words a hash of (prefix, image content) picks."""
    digest = hashlib.sha256(f"{caption_prefix}\0{image_sha256}".encode()).digest()
    action = _ACTIONS[digest[0] % len(_ACTIONS)]
    setting = _SETTINGS[digest[1] % len(_SETTINGS)]
    detail = _DETAILS[digest[2] % len(_DETAILS)]
    return f"{caption_prefix.rstrip()} {action} {setting}, {detail}."
