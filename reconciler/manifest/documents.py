"""Turns one YAML document into a typed-enough `Resource`, reporting what is wrong with it.

This is where a document is recognised (apiVersion, kind), checked against its kind's schema,
and its names are checked. A resource whose name is readable is returned even when other parts
are broken, so later checks (duplicates, references) see it and do not report a cascade of
"undeclared" errors; only `valid` resources become desired state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reconciler.manifest.diagnostics import DiagnosticSink, did_you_mean, quote
from reconciler.manifest.schema import KINDS, check_schema
from reconciler.manifest.yaml_loader import Mark, PathKey, YamlDocument

API_VERSION = "tailored-gen/v1"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
NAME_RULE = "names are 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"


@dataclass(frozen=True)
class Resource:
    """A recognised manifest document of kind Project, Dataset or Model."""

    kind: str
    name: str
    project: str  # the owning project's name (a Project's own name)
    delete: bool
    metadata: dict[str, Any]
    spec: dict[str, Any]
    document: YamlDocument
    valid: bool  # schema-clean with valid names: may become desired state

    @property
    def subject(self) -> str:
        """`dataset 'lora-v1'`: how messages name this resource."""
        return f"{self.kind.lower()} {quote(self.name)}"

    def mark(self, *path: str | int) -> Mark:
        """Where `path` (e.g. "spec", "dataset") is written; the value's key, or the nearest."""
        return self.document.key_mark(tuple(path))

    def error(self, sink: DiagnosticSink, path: PathKey, message: str) -> None:
        mark = self.document.key_mark(path)
        sink.error(self.document.file, mark.line, mark.col, message)

    def warning(self, sink: DiagnosticSink, path: PathKey, message: str) -> None:
        mark = self.document.key_mark(path)
        sink.warning(self.document.file, mark.line, mark.col, message)

    def text(self, field: str) -> str | None:
        """spec.<field> when it is a string, else None (absent or already reported)."""
        value = self.spec.get(field)
        return value if isinstance(value, str) else None


def read_resource(document: YamlDocument, sink: DiagnosticSink) -> Resource | None:
    """The resource a document declares, or None when it cannot even be recognised.

    A document whose YAML already had errors is only recognised quietly (for its name): its
    other problems would mostly be consequences of the YAML errors reported.
    """
    if not document.clean:
        sink = DiagnosticSink()
    data = document.data
    file, start = document.file, document.start
    if not isinstance(data, dict):
        sink.error(
            file,
            start.line,
            start.col,
            f"a manifest document must be a mapping with apiVersion, kind, metadata and spec, "
            f"not {_shape(data)}",
        )
        return None
    kind = _recognise(document, sink)
    if kind is None:
        return None
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = metadata.get("name")
    subject = f"{kind.lower()} {quote(name)}" if isinstance(name, str) else f"this {kind}"
    valid = document.clean and check_schema(document, kind, subject, sink)
    for path in (("metadata", "name"), ("metadata", "project"), ("spec", "dataset")):
        value = _get(data, path)
        if isinstance(value, str) and not _check_name(document, path, value, sink):
            valid = False
    project = name if kind == "Project" else metadata.get("project")
    if not isinstance(name, str) or not isinstance(project, str):
        return None
    if name_problem(name) or name_problem(project):
        return None  # reported above; looking it up would only add "not declared" noise
    spec = data.get("spec")
    return Resource(
        kind=kind,
        name=name,
        project=project,
        delete=metadata.get("delete") is True,
        metadata=metadata,
        spec=spec if isinstance(spec, dict) else {},
        document=document,
        valid=valid,
    )


def _recognise(document: YamlDocument, sink: DiagnosticSink) -> str | None:
    data: dict[str, Any] = document.data
    file, start = document.file, document.start
    if "apiVersion" not in data:
        sink.error(
            file,
            start.line,
            start.col,
            f"document has no apiVersion; add 'apiVersion: {API_VERSION}'",
        )
    elif data["apiVersion"] != API_VERSION:
        mark = document.key_mark(("apiVersion",))
        sink.error(
            file,
            mark.line,
            mark.col,
            f"unknown apiVersion {quote(data['apiVersion'])}; this reconciler reads "
            f"{quote(API_VERSION)}",
        )
    kind = data.get("kind")
    if "kind" not in data:
        sink.error(
            file,
            start.line,
            start.col,
            "document has no kind; add 'kind: Project', 'kind: Dataset' or 'kind: Model'",
        )
        return None
    if kind not in KINDS:
        mark = document.key_mark(("kind",))
        choices = ", ".join(quote(k) for k in KINDS)
        sink.error(
            file,
            mark.line,
            mark.col,
            f"unknown kind {quote(kind)}; expected one of {choices}"
            f"{did_you_mean(str(kind), KINDS)}",
        )
        return None
    return str(kind)


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a resource name, or None when it can."""
    if NAME_PATTERN.fullmatch(value):
        return None
    if not value:
        return "it is empty"
    if len(value) > 63:
        return f"it is {len(value)} characters long, over 63"
    for ch in value:
        if not ch.isprintable() or ch in "\t\r\n":
            return "it contains a control character"
        if ch in "/\\":
            return "it contains a path separator"
        if ch == "~":
            return "it contains '~', which is reserved for version suffixes"
        if ch.isspace():
            return "it contains a space"
    if not value[0].isalnum():
        return "it must start with a letter or digit"
    bad = next(ch for ch in value if not (ch.isascii() and (ch.isalnum() or ch in "._-")))
    return f"it contains {quote(bad)}"


def _check_name(document: YamlDocument, path: PathKey, value: str, sink: DiagnosticSink) -> bool:
    problem = name_problem(value)
    if problem is None:
        return True
    label = {"name": "name", "project": "project name", "dataset": "dataset name"}[str(path[-1])]
    mark = document.key_mark(path)
    sink.error(
        document.file,
        mark.line,
        mark.col,
        f"{label} {quote(value)} is not allowed: {problem}; {NAME_RULE}",
    )
    return False


def _get(data: dict[str, Any], path: PathKey) -> Any:
    value: Any = data
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _shape(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {quote(value)}"
    return f"the value {quote(value)}"
