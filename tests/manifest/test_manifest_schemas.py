"""The published JSON Schemas: valid, what editors get, and kept in step with the docs.

Editors validate with these files alone (no reconciler), so the examples must pass them as
plain YAML, the any-kind schema must pick the right kind, and every field must be documented.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
KIND_FILES = ("project", "dataset", "model")


def schema(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return loaded


def any_kind_validator() -> Draft202012Validator:
    registry: Registry = Registry().with_resources(
        (f"{name}.schema.json", Resource.from_contents(schema(name))) for name in KIND_FILES
    )
    return Draft202012Validator(schema("manifest"), registry=registry)


@pytest.mark.parametrize("name", [*KIND_FILES, "manifest"])
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(schema(name))


def test_top_level_schemas_dir_is_the_packaged_one() -> None:
    assert SCHEMAS.resolve() == (ROOT / "reconciler" / "schemas").resolve()


def test_examples_pass_the_any_kind_schema_alone() -> None:
    validator = any_kind_validator()
    documents = [
        doc
        for path in sorted((ROOT / "examples" / "manifests").rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
    ]

    assert len(documents) == 7
    for document in documents:
        assert list(validator.iter_errors(document)) == [], document


def test_any_kind_schema_applies_the_kind_s_rules() -> None:
    model = {
        "apiVersion": "tailored-gen/v1",
        "kind": "Model",
        "metadata": {"name": "m", "project": "p"},
        "spec": {"dataset": "d", "training_version": "huge"},
    }

    messages = [e.message for e in any_kind_validator().iter_errors(model)]

    assert messages == ["'huge' is not one of ['light', 'max']"]


def test_a_deleted_resource_needs_no_spec_in_the_schema() -> None:
    def dataset(**metadata: object) -> dict[str, object]:
        head = {"name": "d", "project": "p", **metadata}
        return {"apiVersion": "tailored-gen/v1", "kind": "Dataset", "metadata": head}

    validator = any_kind_validator()

    assert list(validator.iter_errors(dataset(delete=True))) == []
    assert [e.message for e in validator.iter_errors(dataset())] == [
        "'spec' is a required property"
    ]


@pytest.mark.parametrize("name", KIND_FILES)
def test_every_field_is_documented(name: str) -> None:
    reference = (ROOT / "docs" / "manifest-reference.md").read_text()
    properties = schema(name)["properties"]
    assert isinstance(properties, dict)

    for section in ("metadata", "spec"):
        for field in properties[section]["properties"]:
            assert f"`{field}" in reference or f"`{section}.{field}`" in reference, field
