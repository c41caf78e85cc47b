"""Records of both API generations: the reference's (training_version, caption_prefix) and
Bria's published OpenAPI (training_mode, training_parameters, checkpoints, visual_schema,
upload_type, a project's training_version lock). Answers are the published samples, served by
`httpx.MockTransport` (shapes the emulator's reference profile never gives)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from reconciler.client import BadRequest, BriaClient, Forbidden, MalformedResponse
from reconciler.client.records import TrainingParameters

TOKEN = "tok-GENERATIONS-77aa10"

# Get Models' published sample: one fully automated, one expert model.
CURRENT_MODELS: list[dict[str, Any]] = [
    {
        "id": 789,
        "name": "Lora Character Model",
        "description": "A model trained on Lora character illustrations",
        "status": "Completed",
        "training_mode": "fully_automated",
        "active_model_version": "default",
        "training_parameters": {},
        "checkpoint_steps": [],
        "project_id": 123,
        "dataset_id": 456,
        "created_at": "2024-05-26T12:00:00Z",
    },
    {
        "id": 790,
        "name": "Max Character Model",
        "description": "A model trained for better generation",
        "status": "Completed",
        "training_mode": "expert",
        "active_model_version": "1500",
        "training_parameters": {
            "learning_rate": 0.001,
            "lr_scheduler": "constant",
            "lr_warmup_steps": None,
            "rank": 128,
            "total_training_steps": 1500,
        },
        "checkpoint_steps": ["1500", "1000", "500"],
        "project_id": 123,
        "dataset_id": 457,
        "created_at": "2024-05-27T09:00:00Z",
    },
]
REFERENCE_MODEL = {
    "id": 791,
    "name": "lora-light",
    "status": "Completed",
    "training_version": "light",
    "generation_prefix": "An illustration of",
    "project_id": 123,
    "dataset_id": 458,
}
CURRENT_DATASET = {
    "id": 456,
    "project_id": 123,
    "name": "dataset v1",
    "visual_schema": '{"style": "...", "colors": "..."}',
    "status": "completed",
    "captions_update_status": "completed",
    "upload_type": "basic",
    "images_count": 1,
    "images": [
        {
            "id": 789,
            "dataset_id": 456,
            "caption": '{"subject": "character standing"}',
            "caption_source": "automatic",
            "upload_source_url": None,
            "image_name": "lora_standing.png",
            "image_url": "https://api.example.com/files/lora_standing.png",
            "thumbnail_url": "https://api.example.com/files/lora_standing_thumb.png",
        }
    ],
}
CURRENT_PROJECT = {
    "id": 123,
    "project_name": "Branded Character",
    "project_description": "",
    "ip_name": "Lora",
    "ip_description": "A female character with purple hair",
    "ip_medium": "illustration",
    "ip_type": "defined_character",
    "training_version": "fibo",
    "status": "active",
    "created_at": "2024-05-26T12:00:00Z",
}


def answering(body: Any, status: int = 200) -> BriaClient:
    return BriaClient(
        "https://bria.test/v1",
        TOKEN,
        max_retries=0,
        transport=httpx.MockTransport(lambda request: httpx.Response(status, json=body)),
    )


def test_an_account_with_models_of_both_generations_is_read() -> None:
    models = answering([*CURRENT_MODELS, REFERENCE_MODEL]).list_models()
    automated, expert, light = models
    assert (automated.training_version, automated.training_mode) == ("", "fully_automated")
    assert automated.generation == "current"
    assert automated.training_parameters == TrainingParameters()
    assert (automated.active_model_version, automated.checkpoint_steps) == ("default", ())
    assert expert.training_parameters == TrainingParameters(
        rank=128, learning_rate=0.001, lr_scheduler="constant", total_training_steps=1500
    )
    assert expert.training_parameters.as_dict() == {
        "rank": 128,
        "learning_rate": 0.001,
        "lr_scheduler": "constant",
        "total_training_steps": 1500,
    }
    assert (expert.active_model_version, expert.checkpoint_steps) == ("1500", (500, 1000, 1500))
    assert (light.training_version, light.training_mode, light.generation) == (
        "light",
        None,
        "reference",
    )
    assert light.training_parameters is None and light.checkpoint_steps is None


def test_a_current_model_naming_its_family_is_read_and_a_reference_one_is_not() -> None:
    fibo = {**CURRENT_MODELS[1], "training_version": "fibo"}
    (model,) = answering([fibo]).list_models()
    assert (model.generation, model.training_mode, model.training_version) == (
        "current",
        "expert",
        "",
    )
    unknown = {**REFERENCE_MODEL, "training_version": "fibo"}
    with pytest.raises(MalformedResponse, match="'training_version' has unknown value 'fibo'"):
        answering([unknown]).list_models()


def test_model_lists_ask_for_training_parameters() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=CURRENT_MODELS)

    client = BriaClient(
        "https://bria.test/v1", TOKEN, max_retries=0, transport=httpx.MockTransport(answer)
    )
    client.list_models()
    client.list_project_models(123)
    assert [r.url.params.get("include_training_parameters") for r in seen] == ["true", "true"]


def test_update_models_answer_names_no_generation() -> None:
    """Update Model's published answer has neither training_version nor training_mode."""
    answer = {"id": 789, "name": "n", "description": "d", "status": "Completed"}
    model = answering(answer).update_model(789, name="n")
    assert (model.training_version, model.training_mode, model.generation) == ("", None, None)


def test_current_generation_dataset_and_project_fields() -> None:
    dataset = answering(CURRENT_DATASET).get_dataset(456)
    assert dataset.visual_schema == '{"style": "...", "colors": "..."}'
    assert (dataset.upload_type, dataset.caption_prefix) == ("basic", None)
    project = answering(CURRENT_PROJECT).get_project(123)
    assert project.training_version == "fibo"
    reference = answering({**CURRENT_PROJECT, "training_version": None}).get_project(123)
    assert reference.training_version is None


def test_an_image_uploaded_before_a_schema_has_no_caption() -> None:
    image = {"id": 5, "dataset_id": 456, "caption": None, "caption_source": "pending"}
    record = answering(image, 201).upload_image(456, file=b"x", image_name="a.png")
    assert (record.caption, record.caption_source) == (None, "pending")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"training_mode": "turbo"},
            "model #0 field 'training_mode' has unknown value 'turbo' "
            "(expected one of expert, fully_automated)",
        ),
        (
            {"checkpoint_steps": ["last"]},
            "model #0 field 'checkpoint_steps' should be an array of training steps",
        ),
        (
            {"training_parameters": {"rank": "big"}},
            "model #0 training_parameters field 'rank' should be an integer, got string",
        ),
        (
            {"training_parameters": {"learning_rate": "fast"}},
            "model #0 training_parameters field 'learning_rate' should be a number, got string",
        ),
        (
            {"training_parameters": []},
            "expected a JSON object for model #0 training_parameters, got array",
        ),
        (
            {"active_model_version": 1.5},
            "model #0 field 'active_model_version' should be a string, got number",
        ),
    ],
)
def test_a_wrong_current_generation_field_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedResponse) as caught:
        answering([{**CURRENT_MODELS[1], **change}]).list_models()
    assert str(caught.value) == f"GET /tailored-gen/models: malformed response: {message}"


def test_a_wrong_upload_type_is_refused() -> None:
    with pytest.raises(MalformedResponse, match="field 'upload_type' has unknown value 'zip'"):
        answering({**CURRENT_DATASET, "upload_type": "zip"}).get_dataset(456)


def test_a_visual_schema_answered_as_an_object_is_read_as_its_text() -> None:
    dataset = answering({**CURRENT_DATASET, "visual_schema": {"style": "flat"}}).get_dataset(456)
    assert dataset.visual_schema == '{"style": "flat"}'
    with pytest.raises(MalformedResponse, match="field 'visual_schema' should be a string"):
        answering({**CURRENT_DATASET, "visual_schema": 5}).get_dataset(456)


def test_published_error_bodies_give_bria_s_message() -> None:
    """Start Training's published 400 lists field errors; a 403 body is a bare JSON string."""
    invalid = {
        "errors": [
            {
                "msg": "Input should be less than or equal to 5000",
                "field_name": "total_training_steps",
                "field_input": "1000000",
            }
        ]
    }
    with pytest.raises(BadRequest) as refused:
        answering(invalid, status=400).start_training(7, {"total_training_steps": 1000000})
    assert str(refused.value) == (
        "POST /tailored-gen/models/7/start_training: 400 Bad Request: total_training_steps: "
        "Input should be less than or equal to 5000"
    )
    quota = "Quota exceeded: Free users can make up to 1000 requests in total."
    with pytest.raises(Forbidden) as forbidden:
        answering(quota, status=403).list_models()
    assert str(forbidden.value).endswith(f"403 Forbidden: {quota}")


@pytest.mark.parametrize(
    "answer", [{"visual_schema": '{"style": "flat"}'}, {"visual_schema": {"style": "flat"}}]
)
def test_a_generated_visual_schema_is_read_as_json_text(answer: dict[str, Any]) -> None:
    text = answering(answer).generate_visual_schema([b"png"] * 5)
    assert json.loads(text) == {"style": "flat"}


def test_a_visual_schema_answer_without_one_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="visual schema answer has no 'visual_schema'"):
        answering({"message": "ok"}).generate_visual_schema([b"png"] * 5)
