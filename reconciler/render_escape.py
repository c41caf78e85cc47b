"""Text that comes from users, made safe for a terminal, a markdown comment and an HTML page.

Captions, descriptions and names are written by people (or by Bria, or by whoever edited the
console) and end up in a PR comment that renders HTML and in terminals that obey escape
sequences. So every rendering passes them through here: control characters (ESC and the OSC
sequences it starts, bidirectional overrides that disguise text) become visible `\\x1b`-style
escapes; markdown gets HTML entities and backslash escapes, so a caption can neither inject a tag
nor close the `<details>` block it sits in, nor ping `@someone`; HTML gets entities.

Also the word diff that caption changes are shown with in markdown and HTML.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from typing import Literal

_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MD_SPECIAL = re.compile(r"([\\`*~\[\]|$])")
# `_` only delimits emphasis at a word boundary (GFM): `ip_type` needs no escape, `_x_` does
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.~#/@:+=-]+$")
_TOKENS = re.compile(r"\s+|[^\s]+")


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """Control and bidi-override characters replaced by visible escapes (`\\x1b`, `\\u202e`)."""
    out = []
    for char in text:
        if keep_newlines and char == "\n":
            out.append(char)
        elif char in _BIDI or unicodedata.category(char) == "Cc":
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def md_text(text: str) -> str:
    """Plain text inside markdown (a table cell, a list item, a `<summary>`): one line, no tag,
    no markdown syntax, no mention."""
    one_line = printable(" ".join(text.split()))
    escaped = one_line.replace("&", "&amp;").replace("<", "&lt;")  # `>` alone opens no tag
    escaped = _MD_SPECIAL.sub(r"\\\1", escaped)
    escaped = _MD_UNDERSCORE.sub(r"\\_", escaped)
    return escaped.replace("@", "&#64;")


def md_code(text: str) -> str:
    """An identifier (address, file name) as inline code when it is plain, else escaped text."""
    if _SAFE_CODE.match(text):
        return f"`{text}`"
    return md_text(text)


def html_text(text: str) -> str:
    return html.escape(printable(text), quote=True)


DiffOp = Literal["same", "del", "ins"]


def word_diff(old: str, new: str) -> list[tuple[DiffOp, str]]:
    """`old` -> `new` as runs of unchanged, deleted and inserted words (single-spaced). Texts
    with little in common are one deletion and one insertion: a mix would read as noise."""
    a, b = old.split(), new.split()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if a and b and matcher.ratio() < 0.4:
        return [("del", " ".join(a)), ("ins", " ".join(b))]
    runs: list[tuple[DiffOp, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            runs.append(("same", " ".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            runs.append(("del", " ".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            runs.append(("ins", " ".join(b[j1:j2])))
    return runs


def is_partial(runs: list[tuple[DiffOp, str]]) -> bool:
    """Whether a word diff mixes the texts (so neither reads whole in it)."""
    return any(op == "same" for op, _ in runs)


def md_word_diff(runs: list[tuple[DiffOp, str]]) -> str:
    """A word diff (`word_diff`'s runs) for markdown: ~~deleted words~~ **inserted words**, the
    rest as is."""
    marker = {"same": "", "del": "~~", "ins": "**"}
    return " ".join(f"{marker[op]}{md_text(text)}{marker[op]}" for op, text in runs)
