"""Reading Bria's answers: records normalised, malformed answers refused with a message naming
the call, error statuses mapped to types, and the token in no message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler.client import (
    BadRequest,
    BriaClient,
    BriaError,
    Conflict,
    Forbidden,
    Gone,
    MalformedResponse,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ResponseError,
    ServerError,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)

TOKEN = "tok-ANSWERS-31f0d2"
MODEL = {
    "id": 789,
    "name": "Lora Character Model",
    "status": "created",
    "training_version": "Max",
    "generation_prefix": "An illustration of",
    "project_id": 123,
    "dataset_id": 456,
    "created_at": "2024-05-26T12:00:00Z",
}
DATASET = {
    "id": 456,
    "project_id": 123,
    "name": "dataset v1",
    "caption_prefix": "An illustration of",
    "status": "Completed",
    "captions_update_status": "empty",
    "images_count": 1,
    "images": [{"id": 1, "image_name": "a.png", "caption": "c", "caption_source": "automatic"}],
}


def answering(response: httpx.Response) -> BriaClient:
    return BriaClient(
        "https://bria.test/v1",
        TOKEN,
        max_retries=0,
        transport=httpx.MockTransport(lambda request: response),
    )


def test_records_are_normalised_and_keep_the_raw_answer() -> None:
    model = answering(httpx.Response(201, json={**MODEL, "future_field": 1})).get_model(789)
    assert (model.status, model.training_version, model.dataset_id) == ("Created", "max", 456)
    assert model.raw["future_field"] == 1

    dataset = answering(httpx.Response(200, json=DATASET)).get_dataset(456)
    assert dataset.status == "completed"
    assert dataset.images is not None and dataset.images[0].dataset_id == 456
    assert dataset.images[0].image_name == "a.png"
    assert dataset.models is None and dataset.model_ids is None


@pytest.mark.parametrize("model_ids", [["7", "9"], [7, 9]])
def test_model_ids_may_be_strings_as_the_published_openapi_says(model_ids: list[object]) -> None:
    client = answering(httpx.Response(200, json=[{**DATASET, "model_ids": model_ids}]))
    assert client.list_project_datasets(123, include_models_ids=True)[0].model_ids == (7, 9)


@pytest.mark.parametrize(
    ("answered", "normalised"),
    [
        ("created", "Created"),
        ("InProgress", "InProgress"),
        ("in_progress", "InProgress"),
        ("COMPLETED", "Completed"),
        ("failed", "Failed"),
        ("Stopping", "Stopping"),
        ("stopped", "Stopped"),
        ("Deleted", "Deleted"),
    ],
)
def test_model_status_is_normalised(answered: str, normalised: str) -> None:
    client = answering(httpx.Response(200, json={**MODEL, "status": answered}))
    assert client.get_model(789).status == normalised


def test_start_training_accepts_a_partial_answer() -> None:
    model = answering(httpx.Response(200, json={"id": 789, "status": "InProgress"})).start_training(
        789
    )
    assert (model.id, model.status, model.name, model.training_version) == (
        789,
        "InProgress",
        "",
        "",
    )
    assert model.dataset_id is None


@pytest.mark.parametrize(
    ("response", "call", "message"),
    [
        (
            httpx.Response(
                200, html="<!DOCTYPE html><html><title>Login</title><body>x</body></html>"
            ),
            lambda c: c.list_projects(),
            "GET /tailored-gen/projects: malformed response: an HTML page instead of JSON (200)",
        ),
        (
            httpx.Response(
                200, content=b'[{"id": 1,', headers={"content-type": "application/json"}
            ),
            lambda c: c.list_projects(),
            "GET /tailored-gen/projects: malformed response: not JSON (JSONDecodeError: "
            "'[{\"id\": 1,')",
        ),
        (
            httpx.Response(200, json={"projects": []}),
            lambda c: c.list_projects(),
            "GET /tailored-gen/projects: malformed response: "
            "expected a JSON array of projects, got object",
        ),
        (
            httpx.Response(200, json={k: v for k, v in MODEL.items() if k != "id"}),
            lambda c: c.get_model(789),
            "GET /tailored-gen/models/789: malformed response: model has no 'id'",
        ),
        (
            httpx.Response(200, json=[MODEL, {**MODEL, "status": "Exploded"}]),
            lambda c: c.list_models(),
            "GET /tailored-gen/models: malformed response: model #1 field 'status' has unknown "
            "value 'Exploded' (expected one of Created, InProgress, Completed, Failed, Stopping, "
            "Stopped, Deleted)",
        ),
        (
            httpx.Response(200, json={**MODEL, "id": "789"}),
            lambda c: c.get_model(789),
            "GET /tailored-gen/models/789: malformed response: model field 'id' should be an "
            "integer, got string",
        ),
        (
            httpx.Response(200, json={**MODEL, "training_version": "ultra"}),
            lambda c: c.get_model(789),
            "GET /tailored-gen/models/789: malformed response: model field 'training_version' "
            "has unknown value 'ultra' (expected one of light, max)",
        ),
        (
            httpx.Response(200, json={**DATASET, "status": "archived"}),
            lambda c: c.get_dataset(456),
            "GET /tailored-gen/datasets/456: malformed response: dataset field 'status' has "
            "unknown value 'archived' (expected one of completed, draft)",
        ),
        (
            httpx.Response(200, json={**DATASET, "name": None}),
            lambda c: c.get_dataset(456),
            "GET /tailored-gen/datasets/456: malformed response: dataset has no 'name'",
        ),
        (
            httpx.Response(200, json={**DATASET, "images": [{"id": 1, "dataset_id": 9}]}),
            lambda c: c.get_dataset(456),
            "GET /tailored-gen/datasets/456: malformed response: dataset image #0 belongs to "
            "dataset 9, not to dataset 456",
        ),
        (
            httpx.Response(200, json=[{"id": 1, "image_name": "a", "caption_source": "ai"}]),
            lambda c: c.list_images(3),
            "GET /tailored-gen/datasets/3/images: malformed response: image #0 field "
            "'caption_source' has unknown value 'ai' (expected one of automatic, manual, pending, "
            "unknown)",
        ),
        (
            httpx.Response(201, json={"id": 1, "project_name": "p", "ip_type": "icons"}),
            lambda c: c.create_project(project_name="p", ip_type="icons", ip_medium="x"),
            "POST /tailored-gen/projects: malformed response: project has no 'ip_medium'",
        ),
        (
            httpx.Response(200, json=["url"]),
            lambda c: c.text_to_image(1, prompt="a cat"),
            "POST /text-to-image/tailored/1: malformed response: expected a JSON object, got list",
        ),
        (
            httpx.Response(200, json=[{**DATASET, "model_ids": ["a"]}]),
            lambda c: c.list_project_datasets(123, include_models_ids=True),
            "GET /tailored-gen/projects/123/datasets: malformed response: dataset #0 field "
            "'model_ids' should be an array of model ids",
        ),
    ],
)
def test_malformed_answers_name_the_call(
    response: httpx.Response, call: Callable[[BriaClient], Any], message: str
) -> None:
    with pytest.raises(MalformedResponse) as info:
        call(answering(response))
    assert str(info.value) == message
    assert not info.value.retryable


@pytest.mark.parametrize(
    ("status", "error_type", "phrase"),
    [
        (400, BadRequest, "400 Bad Request"),
        (401, Unauthorized, "401 Unauthorized"),
        (403, Forbidden, "403 Forbidden"),
        (404, NotFound, "404 Not Found"),
        (405, ResponseError, "405 Method Not Allowed"),
        (409, Conflict, "409 Conflict"),
        (410, Gone, "410 Gone"),
        (412, PreconditionFailed, "412 Precondition Failed"),
        (415, UnsupportedMediaType, "415 Unsupported Media Type"),
        (422, Unprocessable, "422 Unprocessable Entity"),
        (429, RateLimited, "429 Too Many Requests"),
        (500, ServerError, "500 Internal Server Error"),
        (504, ServerError, "504 Gateway Timeout"),
    ],
)
def test_error_statuses_map_to_types(status: int, error_type: type[BriaError], phrase: str) -> None:
    client = answering(httpx.Response(status, json={"message": "Cannot upload here"}))
    with pytest.raises(error_type) as info:
        client.upload_image(12, file=b"png")
    assert type(info.value) is error_type
    assert info.value.status == status
    assert info.value.api_message == "Cannot upload here"
    expected = f"POST /tailored-gen/datasets/12/images: {phrase}: Cannot upload here"
    assert str(info.value).startswith(expected)


@pytest.mark.parametrize(
    ("response", "api_message"),
    [
        (httpx.Response(409, json={"detail": "busy"}), "busy"),
        (httpx.Response(409, json={"error": {"message": "nested"}}), "nested"),
        (httpx.Response(409, text="plain words"), "plain words"),
        (
            httpx.Response(502, html="<html><title>502 Bad Gateway</title></html>"),
            "HTML page '502 Bad Gateway'",
        ),  # fmt: skip
        (httpx.Response(409, json={"message": "x" * 1000}), "x" * 297 + "..."),
        (httpx.Response(409), None),
    ],
)
def test_api_message_is_extracted_and_cut(
    response: httpx.Response, api_message: str | None
) -> None:
    with pytest.raises(BriaError) as info:
        answering(response).delete_dataset(4)
    assert info.value.api_message == api_message


def test_token_never_appears_in_any_error_message() -> None:
    echoing = [
        httpx.Response(401, json={"message": f"bad token {TOKEN}"}),
        httpx.Response(409, text=f"api_token: {TOKEN}"),
        httpx.Response(500, html=f"<html><title>{TOKEN}</title></html>"),
        httpx.Response(200, text=f"{TOKEN} not json"),
        httpx.Response(302, headers={"location": f"https://evil.test/?t={TOKEN}"}),
        httpx.Response(429, json={"message": TOKEN}),
    ]
    for response in echoing:
        with pytest.raises(BriaError) as info:
            answering(response).list_projects()
        rendered = " ".join([str(info.value), repr(info.value), *map(str, info.value.args)])
        assert TOKEN not in rendered, rendered
        assert info.value.api_message is None or TOKEN not in info.value.api_message


def test_unauthorized_says_what_to_check() -> None:
    with pytest.raises(Unauthorized) as info:
        answering(httpx.Response(401, json={"message": "Unauthorized"})).list_projects()
    assert str(info.value) == (
        "GET /tailored-gen/projects: 401 Unauthorized: Unauthorized (check BRIA_API_TOKEN)"
    )
