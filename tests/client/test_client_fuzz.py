"""Property: whatever Bria answers, the client returns a well-typed record or raises a
BriaError naming the call; never a KeyError, TypeError or a guessed value."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.client import (
    MODEL_STATUSES,
    BriaClient,
    BriaError,
    DatasetRecord,
    ImageRecord,
    MalformedResponse,
    ModelRecord,
    ProjectRecord,
)

TOKEN = "tok-FUZZ-0e7d44"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
# Answers that are close to valid: a real record with fields dropped, nulled or retyped.
VALID = {
    "project": {"id": 1, "project_name": "p", "ip_type": "icons", "ip_medium": "illustration"},
    "dataset": {"id": 2, "project_id": 1, "name": "d", "status": "draft", "images": []},
    "image": {"id": 3, "dataset_id": 2, "image_name": "a.png", "caption_source": "manual"},
    "model": {"id": 4, "name": "m", "status": "Completed", "training_version": "light"},
}
CALLS: dict[str, tuple[Callable[[BriaClient], Any], type]] = {
    "project": (lambda c: c.get_project(1), ProjectRecord),
    "dataset": (lambda c: c.get_dataset(2), DatasetRecord),
    "image": (lambda c: c.get_image(2, 3), ImageRecord),
    "model": (lambda c: c.get_model(4), ModelRecord),
}

# examples here are pure parsing, far cheaper than the suite's usual: several shares each
CHEAP = settings.default.max_examples


@st.composite
def mutated_records(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(sorted(VALID)))
    record: dict[str, Any] = dict(VALID[kind])
    for key in draw(st.lists(st.sampled_from(sorted(record)), max_size=3, unique=True)):
        action = draw(st.sampled_from(["drop", "null", "replace"]))
        if action == "drop":
            del record[key]
        elif action == "null":
            record[key] = None
        else:
            record[key] = draw(json_values)
    record.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=2)))
    return kind, record


def _client_answering(body: bytes, content_type: str = "application/json") -> BriaClient:
    return BriaClient(
        "https://bria.test/v1",
        TOKEN,
        max_retries=0,
        transport=httpx.MockTransport(
            lambda request: httpx.Response(
                200, content=body, headers={"content-type": content_type}
            )
        ),
    )


def _check(kind: str, body: bytes, content_type: str = "application/json") -> None:
    call, record_type = CALLS[kind]
    try:
        record = call(_client_answering(body, content_type))
    except MalformedResponse as err:
        assert str(err).startswith("GET /tailored-gen/"), str(err)
        assert ": malformed response: " in str(err)
        assert TOKEN not in str(err)
        return
    assert isinstance(record, record_type)
    assert isinstance(record.id, int) and not isinstance(record.id, bool)
    if isinstance(record, ModelRecord):
        assert record.status in MODEL_STATUSES
        assert record.training_version in ("light", "max", "")  # "": current generation
        assert record.training_mode in ("fully_automated", "expert", None)
    if isinstance(record, DatasetRecord):
        assert record.status in ("draft", "completed")


@settings(max_examples=CHEAP * 6)
@given(mutated_records())
def test_near_valid_records_are_read_or_refused(case: tuple[str, Any]) -> None:
    kind, record = case
    _check(kind, json.dumps(record).encode())


@settings(max_examples=CHEAP * 2)
@given(st.sampled_from(sorted(CALLS)), json_values)
def test_any_json_is_read_or_refused(kind: str, value: Any) -> None:
    _check(kind, json.dumps(value).encode())


@settings(max_examples=CHEAP * 2)
@given(st.sampled_from(sorted(CALLS)), st.binary(max_size=64), st.sampled_from(
    ["application/json", "text/html", "text/plain", ""]
))  # fmt: skip
def test_any_bytes_are_read_or_refused(kind: str, body: bytes, content_type: str) -> None:
    _check(kind, body, content_type)


@settings(max_examples=CHEAP * 2)
@given(st.integers(min_value=400, max_value=599), st.binary(max_size=64))
def test_any_error_answer_is_a_bria_error(status: int, body: bytes) -> None:
    client = BriaClient(
        "https://bria.test/v1",
        TOKEN,
        max_retries=0,
        transport=httpx.MockTransport(lambda request: httpx.Response(status, content=body)),
    )
    try:
        client.list_projects()
    except BriaError as err:
        assert err.status == status
        assert str(err).startswith(f"GET /tailored-gen/projects: {status} ")
    else:
        raise AssertionError("an error status was accepted")
