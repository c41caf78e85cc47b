"""Caption prefixes and automatic captions, deterministic so tests can predict them.

Bria gives each new dataset a default `caption_prefix` derived from its project
(`reconciler.bria_defaults`, shared with `reconciler import`), and each uploaded image an
automatic caption that continues that prefix. The real captions come from a vision model; here
the words are picked by a hash of the prefix and the image's content, so the same prefix and the
same image always give the same caption (the reference promises exactly that for
`regenerate_caption`). The templates are listed in docs/emulator.md.
"""

from __future__ import annotations

import hashlib

from reconciler.bria_defaults import default_caption_prefix

__all__ = ["automatic_caption", "default_caption_prefix"]

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


def automatic_caption(caption_prefix: str, image_sha256: str) -> str:
    """The prefix continued by words a hash of (prefix, image content) picks."""
    digest = hashlib.sha256(f"{caption_prefix}\0{image_sha256}".encode()).digest()
    action = _ACTIONS[digest[0] % len(_ACTIONS)]
    setting = _SETTINGS[digest[1] % len(_SETTINGS)]
    detail = _DETAILS[digest[2] % len(_DETAILS)]
    return f"{caption_prefix.rstrip()} {action} {setting}, {detail}."
