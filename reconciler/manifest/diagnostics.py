"""What the manifest layer reports: located diagnostics and the result of loading.

Every check in `reconciler.manifest` produces `Diagnostic`s instead of raising, so `validate`
reports every problem at once and `plan`/`apply` can refuse to run on any error. User text is
echoed through `quote`, which escapes control characters and cuts long values short, so a
hostile manifest cannot inject terminal escapes or flood the output.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from reconciler.state import DesiredState

Severity = Literal["error", "warning"]

_QUOTE_LIMIT = 80


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place: `path/to/file.yaml:LINE:COL: error: message`."""

    file: str
    line: int
    col: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.col, self.severity, self.message)


@dataclass(frozen=True)
class ImageReadStats:
    """How the image checks got their facts: from the digest cache or by reading the file."""

    images: int = 0  # image files examined
    cache_hits: int = 0  # answered by the digest cache without opening the file
    files_read: int = 0  # image files opened and read
    bytes_read: int = 0  # image bytes read


@dataclass(frozen=True)
class LoadResult:
    state: DesiredState
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[str, ...] = ()  # manifest files read, as displayed in diagnostics
    skipped: tuple[str, ...] = ()  # foreign YAML files; documents as `m/x.yaml (document 1 of 3)`
    image_stats: ImageReadStats = field(default_factory=ImageReadStats)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")


def quote(value: object, limit: int | None = _QUOTE_LIMIT) -> str:
    """`'value'` for messages: control characters escaped, values over `limit` cut short
    (None: never, for paths, which are only useful whole)."""
    text = value if isinstance(value, str) else repr(value)
    escaped = "".join(
        ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else _escape(ch) for ch in text
    )
    if limit is not None and len(escaped) > limit:
        escaped = escaped[: limit - 3] + "..."
    return f"'{escaped}'"


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


PLAIN_TEXT_CONTROLS = frozenset("\t\n\r")
PLAIN_TEXT_FIX = "remove it (captions are plain text)"


def control_character(text: str) -> str | None:
    """The first control character of `text` (tab and line breaks allowed), escaped for a
    message (`\\x00`); None when there is none."""
    for ch in text:
        if ch not in PLAIN_TEXT_CONTROLS and (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F):
            return _escape(ch)
    return None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a candidate is close to `word`, else ``."""
    pool = sorted(set(candidates))
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in pool}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f" (did you mean {quote(matches[0])}?)" if matches else ""


class DiagnosticSink:
    """Collects diagnostics while the checks run; `file`/`line`/`col` come from YAML marks."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def error(self, file: str, line: int, col: int, message: str) -> None:
        self._items.append(Diagnostic(file, line, col, "error", message))

    def warning(self, file: str, line: int, col: int, message: str) -> None:
        self._items.append(Diagnostic(file, line, col, "warning", message))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self._items.extend(diagnostics)

    def sorted(self) -> tuple[Diagnostic, ...]:
        """Deduplicated and in file/line order, so the output never depends on check order."""
        return tuple(sorted(set(self._items), key=lambda d: d.sort_key))
