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
    "defined_character": "a character",
    "object_variants": "an object",
    "multi_object_set": "an object",
    "icons": "an icon",
    "character_variants": "a character",
    "stylized_scene": "a scene",
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
    `An illustration of a character named Lora, a female character with purple hair,`.

    ip_name and ip_description are "incorporated into the automatically created caption prefix"
    for every ip_type that has them: `<Medium> of <subject> named <ip_name>, <ip_description>,`
    (an object_variants' description is its subject: `An illustration of a red sneaker,`)."""
    opening = _OPENING.get(ip_medium, "An image")
    description = _phrase(ip_description) if ip_description and ip_description.strip() else ""
    name = (ip_name or "").strip()
    subject = _SUBJECTS.get(ip_type, "")
    if ip_type == "object_variants" and description:
        subject, description = description, ""
    words = f"{opening} of {subject}" if subject else opening
    if name:
        words += f" named {name}" if subject else f" of {name}"
    return f"{words}, {description}," if description else f"{words},"
