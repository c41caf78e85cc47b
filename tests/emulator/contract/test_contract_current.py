"""Contract: the routes and rules only Bria's current API generation has (the published OpenAPI):
training_mode models, expert training parameters, checkpoints, visual schemas, the 5-image
completion rule, upload types, the project's training_version lock, and `/v2` generation with
its status service. Every test is marked for the current profile; the reference profile serves
none of these routes (checked at the end)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from reconciler.client import BadRequest, Conflict, Forbidden, ModelRecord, NotFound
from reconciler.client.current_records import GenerationAccepted, GenerationResult
from reconciler.client.generation_wait import generate_and_wait, wait_for_generation
from reconciler.client.records import TrainingParameters

from .target import TRAINING_SECONDS, VISUAL_SCHEMA, Target, make_png, wait_for

current = pytest.mark.profiles("current")


def _draft(bria: Target, *, images: int = 5, schema: str | None = VISUAL_SCHEMA) -> int:
    client = bria.client
    project = client.create_project(
        project_name=bria.name("proj"), ip_type="stylized_scene", ip_medium="illustration"
    )
    dataset = client.create_dataset(project_id=project.id, name=bria.name("ds"))
    if schema is not None:
        client.update_dataset(dataset.id, visual_schema=schema)
    for seed in range(images):
        client.upload_image(dataset.id, file=make_png(seed), image_name=f"img-{seed}.png")
    return dataset.id


def _model(bria: Target, mode: str = "expert", *, complete: bool = True) -> ModelRecord:
    dataset_id = _draft(bria)
    if complete:
        bria.client.update_dataset(dataset_id, status="completed")
    return bria.client.create_model(
        name=bria.name(f"m-{mode}"), dataset_id=dataset_id, training_mode=mode, description="d"
    )


def _trained(bria: Target, mode: str = "expert", **parameters: object) -> ModelRecord:
    model = _model(bria, mode)
    bria.client.start_training(model.id, parameters or None)
    return wait_for(
        lambda: bria.client.get_model(model.id),
        lambda m: m.status == "Completed",
        timeout=TRAINING_SECONDS * 30,
    )


@current
def test_models_have_a_training_mode_and_no_training_version(bria: Target) -> None:
    client = bria.client
    created = _model(bria, "fully_automated")
    assert (created.status, created.training_mode, created.training_version) == (
        "Created",
        "fully_automated",
        "",
    )
    assert (created.active_model_version, created.training_parameters) == (
        "default",
        TrainingParameters(),
    )
    assert created.checkpoint_steps == ()
    listed = {m.id: m for m in client.list_models()}
    assert listed[created.id].training_mode == "fully_automated"
    assert listed[created.id].training_parameters == TrainingParameters()  # asked for them
    updated = client.update_model(created.id, description="d2")
    assert (updated.description, updated.generation) == ("d2", None)  # the published answer
    assert client.get_model(created.id).training_mode == "fully_automated"


@current
def test_a_model_created_without_description_has_an_empty_one(bria: Target) -> None:
    dataset_id = _draft(bria)
    bria.client.update_dataset(dataset_id, status="completed")
    created = bria.client.create_model(
        name=bria.name("m"), dataset_id=dataset_id, training_mode="fully_automated"
    )
    assert created.raw["description"] == ""  # published as a string, as the reference's
    assert bria.client.get_model(created.id).description == ""


@current
def test_answers_carry_every_field_the_published_openapi_lists(bria: Target) -> None:
    client = bria.client
    model = _model(bria, "expert")
    assert set(model.raw) >= {
        "id", "name", "description", "status", "training_mode", "project_id", "dataset_id",
        "created_at", "updated_at", "custom_metadata", "active_model_version",
        "training_parameters", "checkpoint_steps",
    }  # fmt: skip
    (project,) = [p for p in client.list_projects() if p.id == model.project_id]
    assert set(project.raw) >= {
        "id", "project_name", "project_description", "ip_name", "ip_description", "ip_medium",
        "ip_type", "status", "created_at", "updated_at",
    }  # fmt: skip
    assert model.dataset_id is not None
    assert set(client.get_dataset(model.dataset_id).raw) >= {
        "id", "project_id", "name", "visual_schema", "status", "captions_update_status",
        "upload_type", "images_count", "images", "created_at", "updated_at",
    }  # fmt: skip


@current
def test_create_model_rules(bria: Target) -> None:
    client = bria.client
    dataset_id = _draft(bria)
    with pytest.raises(BadRequest, match="training_version is not supported"):
        client.create_model(name=bria.name("m"), dataset_id=dataset_id, training_version="light")
    with pytest.raises(BadRequest, match="training_mode"):
        client.create_model(name=bria.name("m"), dataset_id=dataset_id, training_mode="turbo")
    with pytest.raises(NotFound):
        client.create_model(name=bria.name("m"), dataset_id=987654321, training_mode="expert")
    assert client.list_models() == [] or bria.kind == "realapi"


@current
def test_expert_training_uses_the_given_parameters_and_the_published_defaults(
    bria: Target,
) -> None:
    bria.emulator_only("training takes hours on Bria")
    model = _trained(bria, rank=64, total_training_steps=1200, checkpoint_interval=500)
    assert model.training_parameters == TrainingParameters(
        rank=64,
        learning_rate=0.0001,
        lr_scheduler="constant_with_warmup",
        total_training_steps=1200,
        checkpoint_interval=500,
        lr_warmup_steps=100,
    )
    assert (model.checkpoint_steps, model.active_model_version) == ((500, 1000, 1200), "1200")


@current
@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"rank": 3}, "rank"),
        ({"rank": 257}, "rank"),
        ({"learning_rate": 0.01}, "learning_rate"),
        ({"learning_rate": 0.0000001}, "learning_rate"),
        ({"total_training_steps": 5001}, "total_training_steps"),
        ({"total_training_steps": 0}, "total_training_steps"),
        ({"checkpoint_interval": 99}, "checkpoint_interval"),
        ({"lr_warmup_steps": 1001}, "lr_warmup_steps"),
        ({"lr_scheduler": "exponential"}, "lr_scheduler"),
        ({"rank": "big"}, "rank"),
    ],
)
def test_expert_parameters_out_of_range_are_400(
    bria: Target, parameters: dict[str, object], named: str
) -> None:
    model = _model(bria)
    with pytest.raises(BadRequest, match=named):
        bria.client.start_training(model.id, parameters)
    assert bria.client.get_model(model.id).status == "Created"


@current
def test_a_fully_automated_model_takes_no_parameters(bria: Target) -> None:
    model = _model(bria, "fully_automated")
    with pytest.raises(BadRequest, match="only supported when the model's training_mode"):
        bria.client.start_training(model.id, {"rank": 64})
    started = bria.client.start_training(model.id)
    assert (started.status, started.training_parameters) == ("InProgress", TrainingParameters())


@current
def test_checkpoints_list_get_and_delete(bria: Target) -> None:
    bria.emulator_only("training takes hours on Bria")
    client = bria.client
    model = _trained(bria, total_training_steps=1500, checkpoint_interval=500)
    listed = client.list_checkpoints(model.id)
    assert [c.checkpoint_step for c in listed.checkpoints] == [500, 1000, 1500]
    assert listed.active_model_version == "1500"
    assert client.get_checkpoint(model.id, 1000).checkpoint_step == 1000
    with pytest.raises(BadRequest, match="currently selected for inference"):
        client.delete_checkpoint(model.id, 1500)
    client.delete_checkpoint(model.id, 500)
    with pytest.raises(NotFound, match="Checkpoint not found"):
        client.get_checkpoint(model.id, 500)
    assert client.get_model(model.id).checkpoint_steps == (1000, 1500)


@current
def test_checkpoints_need_a_completed_expert_model(bria: Target) -> None:
    client = bria.client
    expert = _model(bria)
    with pytest.raises(BadRequest, match="not completed"):
        client.list_checkpoints(expert.id)
    automated = _model(bria, "fully_automated")
    with pytest.raises(BadRequest, match="expert mode"):
        client.list_checkpoints(automated.id)
    with pytest.raises(NotFound):
        client.list_checkpoints(987654321)


@current
def test_completing_needs_five_images_and_a_visual_schema(bria: Target) -> None:
    client = bria.client
    four = _draft(bria, images=4)
    with pytest.raises(Conflict, match="at least 5"):
        client.update_dataset(four, status="completed")
    client.upload_image(four, file=make_png(40))
    assert client.update_dataset(four, status="completed").status == "completed"
    schemaless = _draft(bria, schema=None)
    with pytest.raises(Conflict, match="visual_schema"):
        client.update_dataset(schemaless, status="completed")


@current
def test_visual_schema_is_set_only_on_a_draft_and_must_be_json(bria: Target) -> None:
    client = bria.client
    dataset_id = _draft(bria)
    with pytest.raises(BadRequest, match="visual_schema"):
        client.update_dataset(dataset_id, visual_schema="not json")
    with pytest.raises(BadRequest, match="caption_prefix is not supported"):
        client.update_dataset(dataset_id, caption_prefix="A cat,")
    client.update_dataset(dataset_id, status="completed")
    with pytest.raises(Conflict, match="completed dataset"):
        client.update_dataset(dataset_id, visual_schema='{"style": "new"}')
    assert client.get_dataset(dataset_id).visual_schema == VISUAL_SCHEMA


@current
def test_images_uploaded_before_a_schema_have_no_caption_until_regenerated(bria: Target) -> None:
    client = bria.client
    dataset_id = _draft(bria, images=2, schema=None)
    assert [(i.caption, i.caption_source) for i in client.list_images(dataset_id)] == [
        (None, None),
        (None, None),
    ]
    client.update_dataset(dataset_id, visual_schema=VISUAL_SCHEMA)
    client.regenerate_captions(dataset_id)
    wait_for(
        lambda: client.get_dataset(dataset_id),
        lambda d: d.captions_update_status == "completed",
        timeout=60,
    )
    captions = [i.caption for i in client.list_images(dataset_id)]
    assert all(c and json.loads(c)["style"] == "flat vector illustration" for c in captions)


@current
def test_manual_captions_are_json(bria: Target) -> None:
    client = bria.client
    dataset_id = _draft(bria, images=1)
    image = client.list_images(dataset_id)[0]
    with pytest.raises(BadRequest, match="JSON"):
        client.update_image_caption(dataset_id, image.id, caption="plain words")
    manual = client.update_image_caption(dataset_id, image.id, caption='{"subject": "a cat"}')
    assert (manual.caption, manual.caption_source) == ('{"subject": "a cat"}', "manual")


@current
def test_generate_visual_schema_takes_5_to_10_images(bria: Target) -> None:
    client = bria.client
    samples = [make_png(seed) for seed in range(5)]
    schema = client.generate_visual_schema(samples)
    assert isinstance(json.loads(schema), dict)
    if bria.kind != "realapi":  # the emulator's schema is a function of the images
        assert client.generate_visual_schema(list(reversed(samples))) == schema
    for count in (4, 11):
        with pytest.raises(BadRequest, match="number of images"):
            client.generate_visual_schema([make_png(seed) for seed in range(count)])


@current
def test_advanced_datasets_take_no_single_uploads(bria: Target) -> None:
    client = bria.client
    project = client.create_project(
        project_name=bria.name("p"), ip_type="icons", ip_medium="illustration"
    )
    dataset = client.create_dataset(
        project_id=project.id, name=bria.name("bulk"), upload_type="advanced"
    )
    assert dataset.upload_type == "advanced"
    with pytest.raises(BadRequest, match="basic"):
        client.upload_image(dataset.id, file=make_png(1))


@current
def test_a_project_is_locked_to_fibo_by_its_models(bria: Target) -> None:
    model = _model(bria, "fully_automated")
    assert model.project_id is not None
    assert bria.client.get_project(model.project_id).training_version == "fibo"
    fresh = bria.client.create_project(
        project_name=bria.name("free"), ip_type="icons", ip_medium="illustration"
    )
    assert fresh.training_version is None


@current
def test_v2_generation_answers_202_then_the_status_service_completes(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    client = bria.client
    model = _trained(bria, "fully_automated")
    accepted = client.generate_image_v2(model.id, prompt="a castle", seed=7)
    assert isinstance(accepted, GenerationAccepted)
    assert accepted.status_url and accepted.status_url.endswith(f"/v2/status/{accepted.request_id}")
    result = wait_for_generation(client, accepted.request_id, timeout=30, poll_interval=0.05)
    assert result.seed == 7 and result.structured_prompt
    fetched = bria.fetch(result.image_url)
    assert fetched.status_code == 200
    assert Image.open(io.BytesIO(fetched.content)).format == "PNG"

    again = client.generate_image_v2(
        model.id, structured_prompt=result.structured_prompt, seed=7, sync=True
    )
    assert isinstance(again, GenerationResult) and again.image_url
    waited = generate_and_wait(client, model.id, prompt="a bridge", poll_interval=0.05)
    assert waited.image_url


@current
def test_v2_generation_rules(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    client = bria.client
    model = _trained(bria, "fully_automated")
    for params in (
        {},
        {"structured_prompt": '{"a": 1}'},  # recreating needs the seed
        {"structured_prompt": "not json", "seed": 1},
        {"prompt": "x", "guidance_scale": 6},
        {"prompt": "x", "steps_num": 10},
        {"prompt": "x", "tailored_model_influence": 2},
        {"prompt": "x", "aspect_ratio": "7:5"},
    ):
        with pytest.raises(BadRequest, match=r"^POST /v2/image/generate/tailored: 400"):
            client.generate_image_v2(model.id, **params)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        client.generate_image_v2(987654321, prompt="x")
    untrained = _model(bria, "fully_automated")
    with pytest.raises(BadRequest, match="not ready"):
        client.generate_image_v2(untrained.id, prompt="x")
    with pytest.raises(BadRequest, match="/v2/image/generate/tailored"):
        client.text_to_image(model.id, prompt="x", num_results=1)  # v1 refuses it
    with pytest.raises(NotFound):
        client.get_generation_status("no-such-request")


@pytest.mark.profiles("reference")
def test_the_reference_profile_serves_no_current_routes(bria: Target) -> None:
    bria.emulator_only("the real API is the current generation")
    client = bria.client
    with pytest.raises(NotFound):
        client.generate_visual_schema([make_png(seed) for seed in range(5)])
    with pytest.raises(NotFound):
        client.list_checkpoints(1)
    with pytest.raises(NotFound):
        client.get_generation_status("abc")
