"""Reads manifest YAML into plain data while keeping where every key and value came from.

Diagnostics must point at the offending line and column, so documents are composed into YAML
nodes (which carry marks) and converted by hand instead of `yaml.safe_load`. The conversion is
also the security boundary for hostile files:

* files over `MAX_MANIFEST_BYTES` are refused before they are read;
* aliases (`*name`) are refused in every document that is read, which makes "billion laughs"
  bombs impossible (a document skipped as not ours is composed, whose nodes an alias shares,
  but never converted or walked);
* only plain tags (strings, numbers, booleans, null, lists, mappings) are accepted, so
  `!!python/object` and friends are an error, never an object;
* nesting is bounded (`MAX_DEPTH`), so deep documents cannot exhaust the stack;
* duplicate keys are an error instead of YAML's silent "last one wins".
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.error import Mark as YamlMark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.manifest.diagnostics import DiagnosticSink, quote

MAX_MANIFEST_BYTES = 1024 * 1024
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_PLAIN_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "null", "bool", "int", "float")}
_TIMESTAMP = f"{_TAG}timestamp"
_KEY_TAGS = _PLAIN_SCALAR_TAGS | {_TIMESTAMP}
_ALIAS_MESSAGE = (
    "YAML aliases ('*name') are not allowed in manifests; write the value out in full "
    "(aliases can expand a small file into a huge document)"
)


@dataclass(frozen=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    col: int


@dataclass
class YamlDocument:
    """One `---` document of a manifest file, as plain data plus the marks of its nodes."""

    file: str  # path as displayed in diagnostics
    path: Path  # absolute path of the file
    data: Any
    start: Mark
    value_marks: dict[PathKey, Mark] = field(default_factory=dict)
    key_marks: dict[PathKey, Mark] = field(default_factory=dict)
    clean: bool = True  # False when the YAML itself had problems (already reported)

    def value_mark(self, path: PathKey) -> Mark:
        """Where the value at `path` starts, or its closest ancestor's."""
        for depth in range(len(path), 0, -1):
            found = self.value_marks.get(path[:depth])
            if found is not None:
                return found
        return self.start

    def key_mark(self, path: PathKey) -> Mark:
        """Where the key leading to `path` is written (falls back to the value)."""
        found = self.key_marks.get(path)
        return found if found is not None else self.value_mark(path)


class _Refused(Exception):
    def __init__(self, mark: YamlMark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


class _MarkedLoader(yaml.SafeLoader):
    """SafeLoader's composer with nesting bounded and the first alias of each document noted
    (`first_alias`): an alias is refused when its document is read, not when composed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.first_alias: YamlMark | None = None

    def _next_mark(self) -> Any:
        return self.peek_event().start_mark  # type: ignore[no-untyped-call]

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self._next_mark()
            if self.first_alias is None:
                self.first_alias = mark
            if self.peek_event().anchor not in self.anchors:  # type: ignore[no-untyped-call]
                raise _Refused(mark, _ALIAS_MESSAGE)
        if self.depth >= MAX_DEPTH:
            raise _Refused(
                self._next_mark(),
                f"YAML nested deeper than {MAX_DEPTH} levels is not allowed in manifests",
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


@dataclass(frozen=True)
class SkippedDocument:
    """A document of a file left unread because it is not ours (say, a ConfigMap)."""

    index: int  # 1-based, among the file's non-empty documents
    total: int  # the file's non-empty documents (those before a YAML break, if any)
    start: Mark


@dataclass(frozen=True)
class YamlFile:
    documents: list[YamlDocument]  # the documents read
    complete: bool  # False when unreadable or the YAML broke off
    skipped: tuple[SkippedDocument, ...] = ()


@dataclass(frozen=True)
class _Composed:
    node: Node
    alias: YamlMark | None  # its first alias, refused if the document is read
    text: str  # its source, from the end of the document before


def load_yaml_file(
    path: Path, display: str, sink: DiagnosticSink
) -> tuple[list[YamlDocument], bool]:
    """The documents of one file, and whether the whole file could be read.

    Problems go to `sink`, never raised. When the file is incomplete (unreadable, or the YAML
    broke off), the documents before the break are still returned.
    """
    read = read_yaml_file(path, display, sink)
    return read.documents, read.complete


def read_yaml_file(
    path: Path, display: str, sink: DiagnosticSink, *, ours: Callable[[str], bool] | None = None
) -> YamlFile:
    """The documents of one file, as `load_yaml_file`; with `ours` (a test on a document's
    source text), a file holding a document of ours skips its other documents unconverted
    (`YamlFile.skipped`). A file with nothing of ours is read whole, every document checked."""
    text = _read_text(path, display, sink)
    if text is None:
        return YamlFile([], False)
    composed: list[_Composed] = []
    broke: tuple[int, int, str] | None = None  # where and why the YAML broke off
    end = 0
    loader: _MarkedLoader | None = None
    try:
        loader = _MarkedLoader(text)  # checks every character up front (ReaderError)
        while loader.check_node():
            node = loader.get_node()
            alias, loader.first_alias = loader.first_alias, None
            if node is None or (isinstance(node, ScalarNode) and node.tag == f"{_TAG}null"):
                continue  # an empty document, e.g. after a trailing `---`
            composed.append(_Composed(node, alias, text[end : node.end_mark.index]))
            end = node.end_mark.index
    except _Refused as err:
        broke = (err.mark.line + 1, err.mark.column + 1, err.message)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        broke = (line, col, f"invalid YAML: {_describe_yaml_error(err)}")
    except yaml.reader.ReaderError as err:
        line, col = _position_to_line_col(text, err.position)
        char = err.character if isinstance(err.character, int) else ord(err.character)
        broke = (
            line,
            col,
            f"invalid YAML: the control character {char:#04x} is not allowed in YAML text",
        )
    except yaml.YAMLError as err:  # any other parser complaint: still a located diagnostic
        broke = (1, 1, f"invalid YAML: {_clean(str(err))}")
    finally:
        if loader is not None:
            if broke is not None and loader.first_alias is not None:  # the alias came first
                alias = loader.first_alias
                broke = (alias.line + 1, alias.column + 1, _ALIAS_MESSAGE)
            loader.dispose()
    return _read_composed(composed, broke, text[end:], path, display, sink, ours)


def _read_composed(
    composed: list[_Composed],
    broke: tuple[int, int, str] | None,
    rest: str,
    path: Path,
    display: str,
    sink: DiagnosticSink,
    ours: Callable[[str], bool] | None,
) -> YamlFile:
    keep = [ours is None or ours(c.text) for c in composed]
    if not any(keep) and not (broke is not None and ours is not None and ours(rest)):
        keep = [True] * len(composed)  # nothing of ours: every document checked, as always
    documents: list[YamlDocument] = []
    skipped: list[SkippedDocument] = []
    for index, (item, kept) in enumerate(zip(composed, keep, strict=True), start=1):
        if not kept:
            skipped.append(SkippedDocument(index, len(composed), _mark(item.node)))
            continue
        if item.alias is not None:  # the rest of the file is not read, as for a YAML break
            sink.error(display, item.alias.line + 1, item.alias.column + 1, _ALIAS_MESSAGE)
            return YamlFile(documents, False, tuple(skipped))
        document = YamlDocument(file=display, path=path, data=None, start=_mark(item.node))
        document.data = _Converter(document, sink).convert(item.node, ())
        documents.append(document)
    if broke is not None:
        sink.error(display, *broke)
    return YamlFile(documents, broke is None, tuple(skipped))


def _read_text(path: Path, display: str, sink: DiagnosticSink) -> str | None:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            sink.error(display, 1, 1, f"manifest {quote(display, None)} is not a regular file")
            return None
        if info.st_size > MAX_MANIFEST_BYTES:
            sink.error(display, 1, 1, _too_big(display, info.st_size))
            return None
        with open(path, "rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as err:
        sink.error(display, 1, 1, f"cannot read manifest {quote(display, None)}: {err.strerror}")
        return None
    if len(raw) > MAX_MANIFEST_BYTES:  # it grew while we looked
        sink.error(display, 1, 1, _too_big(display, len(raw)))
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        sink.error(
            display,
            line,
            col,
            f"manifest {quote(display, None)} is not UTF-8 text (byte {raw[err.start]:#04x}); "
            "save it as UTF-8",
        )
        return None


def _too_big(display: str, size: int) -> str:
    return (
        f"manifest {quote(display, None)} is {size:,} bytes, over the limit of "
        f"{MAX_MANIFEST_BYTES:,} bytes; split it into smaller files"
    )


class _Converter:
    """Nodes -> plain Python data, recording marks and reporting bad nodes."""

    def __init__(self, document: YamlDocument, sink: DiagnosticSink) -> None:
        self.document = document
        self.sink = sink
        self.constructor = SafeConstructor()

    def convert(self, node: Node, path: PathKey) -> Any:
        self.document.value_marks[path] = _mark(node)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != f"{_TAG}seq":
                self._bad_tag(node)
                return None
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any] | None:
        if node.tag != f"{_TAG}map":
            self._bad_tag(node)
            return None
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag not in _KEY_TAGS:
                self._bad_tag(key_node)  # e.g. a merge key, `<<`
                continue
            key = self._scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self._fail(
                    key_node,
                    "mapping keys must be plain strings; quote the key"
                    if isinstance(key_node, ScalarNode)
                    else "mapping keys must be plain strings, not lists or mappings",
                )
                continue
            child = (*path, key)
            if key in result:
                first = self.document.key_marks[child]
                self._fail(
                    key_node,
                    f"duplicate key {quote(key)} (first written at line {first.line}); "
                    "remove one of them",
                )
                continue
            self.document.key_marks[child] = _mark(key_node)
            result[key] = self.convert(value_node, child)
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # dates stay text: no field of ours is a date
        if node.tag not in _PLAIN_SCALAR_TAGS:
            self._bad_tag(node)
            return None
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):
            self._fail(node, f"{quote(node.value)} is not a valid {node.tag.rsplit(':', 1)[-1]}")
            return None

    def _bad_tag(self, node: Node) -> None:
        tag = node.tag.replace(_TAG, "!!")
        if tag == "!!merge":
            self._fail(node, "merge keys ('<<') are not allowed in manifests; write keys in full")
        else:
            self._fail(
                node,
                f"the YAML tag {quote(tag)} is not allowed in manifests; only plain strings, "
                "numbers, booleans, lists and mappings are",
            )

    def _fail(self, node: Node, message: str) -> None:
        mark = _mark(node)
        self.document.clean = False
        self.sink.error(self.document.file, mark.line, mark.col, message)


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _describe_yaml_error(err: yaml.MarkedYAMLError) -> str:
    problem = _clean(err.problem or "syntax error")
    if err.context and err.context_mark is not None:
        return f"{problem} ({_clean(err.context)} at line {err.context_mark.line + 1})"
    return problem


def _clean(text: str) -> str:
    """PyYAML's wording, with control characters escaped (it may quote the input)."""
    return quote(text.strip())[1:-1]


def _position_to_line_col(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1
