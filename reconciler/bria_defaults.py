"""What Bria fills in when the user says nothing: the default caption prefix of a new dataset.

One home for it because two sides need the same answer: the emulator gives each new dataset this
prefix, and `reconciler import` leaves a prefix equal to it out of the manifests it writes (a
manifest holds only what the user chose; an absent `caption_prefix` keeps Bria's). The shape
follows the reference's samples (`An illustration of a character named Lora, a female character
with purple hair,`); the templates are listed in docs/emulator.md.
"""

from __future__ import annotations

_OPENING = {"illustration": "An illustration", "photography": "A photo"}
_LOWERABLE_ARTICLES = ("A", "An", "The")

_SUBJECTS = {
    "multi_object_set": "of an object",
    "icons": "of an icon",
    "character_variants": "of a character",
    "stylized_scene": "of a scene",
}


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
