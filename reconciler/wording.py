"""The few wording helpers every message uses, so reasons and diagnostics read alike."""

from __future__ import annotations

from collections.abc import Sequence


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """`1 image`, `3 images`, `2 models`."""
    return f"{count} {noun if count == 1 else (plural_noun or noun + 's')}"


def quoted(names: Sequence[str]) -> str:
    """`'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`."""
    return joined([f"'{name}'" for name in names])


def joined(parts: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
