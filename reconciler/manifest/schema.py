"""Checks documents against the published JSON Schemas and words the findings for people.

The schemas in `reconciler/schemas/` are the single description of each kind's fields: editors
use them through yaml-language-server and `validate` uses the very same files here. jsonschema's
own messages are terse and unlocated, so each error is mapped back to the YAML mark of the
offending field and reworded (unknown fields get a "did you mean").
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from reconciler.manifest.diagnostics import DiagnosticSink, did_you_mean, quote
from reconciler.manifest.yaml_loader import PathKey, YamlDocument

KINDS = ("Project", "Dataset", "Model")

# Name fields are checked by `names.check_name`, which explains what is wrong with a name;
# the schema's pattern (there for editors) would only repeat it less clearly.
_NAME_FIELDS = {("metadata", "name"), ("metadata", "project"), ("spec", "dataset")}
# apiVersion and kind are checked (with a suggestion) before the schema runs.
_CHECKED_FIRST = {("apiVersion",), ("kind",)}
# API field names a user may write in `spec` where the manifest has its own place for them.
_API_FIELD_HINTS = {
    "project_description": " (the project's description is 'description')",
    "project_name": " (the project's name is metadata.name)",
    "name": " (the name is metadata.name)",
    "project_id": " (the project is named in metadata.project)",
    "dataset_id": " (the dataset is named in 'dataset')",
}
_TYPE_WORDS = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
    "null": "empty",
}


@cache
def schema_for(kind: str) -> dict[str, Any]:
    """The published JSON Schema of `kind` (one of KINDS)."""
    text = resources.files("reconciler.schemas").joinpath(f"{kind.lower()}.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@cache
def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(schema_for(kind))


def check_schema(document: YamlDocument, kind: str, subject: str, sink: DiagnosticSink) -> bool:
    """Report every schema violation of `document`; True when there is none."""
    errors = sorted(
        _validator(kind).iter_errors(document.data),
        key=lambda e: (document.key_mark(tuple(e.absolute_path)).line, str(e.absolute_path)),
    )
    for error in errors:
        path: PathKey = tuple(error.absolute_path)
        if path in _CHECKED_FIRST or (error.validator == "pattern" and path in _NAME_FIELDS):
            continue  # reported by a clearer check of its own
        for mark_path, message in _describe(error, path, subject):
            mark = document.key_mark(mark_path)
            sink.error(document.file, mark.line, mark.col, message)
    return not errors


def _describe(error: ValidationError, path: PathKey, subject: str) -> list[tuple[PathKey, str]]:
    """(where, message) pairs for one jsonschema error."""
    instance = error.instance
    where = dotted(path)
    schema: Any = error.schema
    expected: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = schema.get("properties", {})
        section = f"{where} of " if where else ""
        return [
            (
                (*path, key),
                f"unknown field {quote(key)} in {section}{subject}{_hint(path, key, known)}",
            )
            for key in sorted(set(instance) - set(known))
        ]
    if error.validator == "required" and isinstance(instance, dict):
        return [
            (path, f"{subject} is missing the required field {quote(dotted((*path, field)))}")
            for field in expected
            if field not in instance and (*path, field) not in _CHECKED_FIRST
        ]
    if error.validator == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_WORDS.get(str(kind), str(kind)) for kind in kinds)
        hint = ""
        if error.validator_value == "string" and isinstance(instance, bool | int | float):
            hint = "; put it in quotes (YAML reads yes/no/on/off, true/false and numbers as such)"
        return [(path, f"{quote(where)} must be {wanted}, not {_describe_value(instance)}{hint}")]
    if error.validator == "enum":
        choices = ", ".join(quote(c) for c in expected)
        suggestion = did_you_mean(str(instance), expected)
        return [
            (path, f"{quote(where)} must be one of {choices}, not {quote(instance)}{suggestion}")
        ]
    if error.validator == "minLength" or (error.validator == "pattern" and expected == r"\S"):
        return [(path, f"{quote(where)} must not be empty")]
    return [(path, f"{quote(where)} is invalid: {quote(error.message)[1:-1]}")]


def _hint(path: PathKey, key: str, known: dict[str, Any]) -> str:
    """Where an API field name belongs in a manifest, else a close known field."""
    if path == ("spec",) and key in _API_FIELD_HINTS:
        return _API_FIELD_HINTS[key]
    return did_you_mean(key, known)


def dotted(path: PathKey) -> str:
    """`spec.captions["a.png"]` style display of a path inside a document."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif step.replace("_", "").isalnum():
            parts.append(f".{step}" if parts else step)
        else:
            parts.append(f'["{step}"]')
    return "".join(parts)


def _describe_value(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return quote(value)
