"""Contract: models, training and tailored generation (reference "Create Model" .. "Stop
Training", and the generation routes). The lifecycle tests run on both API profiles (a
`training_mode` model in the current one); training_version rules and the v1 generation routes
are the reference's (the current generation's are in test_contract_current.py)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from reconciler.client import (
    BadRequest,
    Conflict,
    ModelRecord,
    NotFound,
    PreconditionFailed,
)

from .target import TRAINING_SECONDS, Target, make_png, wait_for


def _dataset(bria: Target, *, complete: bool = True, medium: str = "illustration") -> int:
    client = bria.client
    project = client.create_project(
        project_name=bria.name("proj"), ip_type="stylized_scene", ip_medium=medium
    )
    dataset = client.create_dataset(project_id=project.id, name=bria.name("ds"))
    bria.prepare(dataset.id)
    for seed in range(bria.min_images):
        client.upload_image(dataset.id, file=make_png(seed + 1))
    if complete:
        client.update_dataset(dataset.id, status="completed")
    return dataset.id


def _model(bria: Target, version: str = "light", **dataset_options: bool | str) -> ModelRecord:
    dataset_id = _dataset(bria, **dataset_options)  # type: ignore[arg-type]
    return bria.client.create_model(
        name=bria.name(f"model-{version}"),
        dataset_id=dataset_id,
        description="contract",
        **bria.model_kwargs(version),
    )


def _trained(bria: Target, version: str = "light") -> ModelRecord:
    model = _model(bria, version)
    bria.client.start_training(model.id)
    return wait_for(
        lambda: bria.client.get_model(model.id),
        lambda m: m.status == "Completed",
        timeout=TRAINING_SECONDS * 20,
    )


@pytest.mark.profiles("reference")
def test_create_get_list_update_delete(bria: Target) -> None:
    client = bria.client
    dataset_id = _dataset(bria, complete=False)
    created = client.create_model(
        name=bria.name("m"), dataset_id=dataset_id, training_version="max", description="d"
    )
    assert (created.status, created.training_version, created.dataset_id) == (
        "Created",
        "max",
        dataset_id,
    )
    dataset = client.get_dataset(dataset_id)
    assert created.project_id == dataset.project_id
    assert created.generation_prefix == dataset.caption_prefix

    fetched = client.get_model(created.id)
    assert (fetched.name, fetched.status, fetched.description) == (bria.name("m"), "Created", "d")
    assert created.id in [m.id for m in client.list_models()]
    assert [m.id for m in client.list_project_models(dataset.project_id)] == [created.id]

    updated = client.update_model(created.id, name=bria.name("m2"), description="d2")
    assert (updated.name, updated.description, updated.training_version) == (
        bria.name("m2"),
        "d2",
        "max",
    )

    client.delete_model(created.id)
    assert client.get_model(created.id).status == "Deleted"  # "Changes status to Deleted"
    assert {m.id: m.status for m in client.list_models()}.get(created.id) == "Deleted"
    assert [(m.id, m.status) for m in client.list_project_models(dataset.project_id)] == [
        (created.id, "Deleted")
    ]


@pytest.mark.profiles("reference")
def test_create_rules(bria: Target) -> None:
    client = bria.client
    with pytest.raises(NotFound):
        client.create_model(name=bria.name("m"), dataset_id=987654321, training_version="light")
    dataset_id = _dataset(bria, complete=False)
    with pytest.raises(BadRequest):
        client.create_model(name=bria.name("m"), dataset_id=dataset_id, training_version="ultra")
    with pytest.raises(BadRequest):
        client.create_model(name="", dataset_id=dataset_id, training_version="light")
    assert client.list_models() == [] or bria.kind == "realapi"


@pytest.mark.profiles("reference")
def test_max_is_not_available_for_photography(bria: Target) -> None:
    dataset_id = _dataset(bria, complete=False, medium="photography")
    with pytest.raises(BadRequest):
        bria.client.create_model(name=bria.name("m"), dataset_id=dataset_id, training_version="max")
    light = bria.client.create_model(
        name=bria.name("m"), dataset_id=dataset_id, training_version="light"
    )
    assert light.training_version == "light"


def test_unknown_model_is_404(bria: Target) -> None:
    client, missing = bria.client, 987654321
    for call in (
        lambda: client.get_model(missing),
        lambda: client.update_model(missing, name="x"),
        lambda: client.delete_model(missing),
        lambda: client.start_training(missing),
        lambda: client.stop_training(missing),
    ):
        with pytest.raises(NotFound):
            call()


def test_training_needs_a_completed_dataset_412(bria: Target) -> None:
    model = _model(bria, complete=False)
    with pytest.raises(PreconditionFailed) as info:
        bria.client.start_training(model.id)
    assert str(info.value).startswith(
        f"POST /tailored-gen/models/{model.id}/start_training: 412 Precondition Failed"
    )
    assert bria.client.get_model(model.id).status == "Created"


def test_training_lifecycle_and_the_409s_while_training(bria: Target) -> None:
    bria.emulator_only("training takes hours on Bria")
    # long enough for the six calls below to see it InProgress, even on a loaded machine
    bria.configure(training_seconds=0.4)
    client = bria.client
    model = _model(bria)
    assert model.dataset_id is not None and model.project_id is not None

    started = client.start_training(model.id)
    assert (started.id, started.status) == (model.id, "InProgress")
    with pytest.raises(Conflict, match="409 Conflict: Training already started"):
        client.start_training(model.id)
    with pytest.raises(Conflict):
        client.delete_model(model.id)
    with pytest.raises(Conflict):
        client.delete_dataset(model.dataset_id)
    with pytest.raises(Conflict):
        client.delete_project(model.project_id)
    assert client.get_model(model.id).status == "InProgress"

    done = wait_for(lambda: client.get_model(model.id), lambda m: m.status == "Completed")
    assert done.status == "Completed"
    with pytest.raises(Conflict):
        client.start_training(model.id)  # cannot be resumed
    with pytest.raises(Conflict, match="409 Conflict: Training already stopped/not in training"):
        client.stop_training(model.id)
    client.delete_model(model.id)
    client.delete_project(model.project_id)  # nothing is training any more
    with pytest.raises(NotFound):
        client.get_project(model.project_id)


def test_stop_training_goes_through_stopping_to_stopped(bria: Target) -> None:
    bria.emulator_only("training takes hours on Bria")
    bria.configure(training_seconds=30, stopping_seconds=0.15)  # one call while Stopping
    client = bria.client
    model = _model(bria)
    with pytest.raises(Conflict):
        client.stop_training(model.id)  # not in training yet
    client.start_training(model.id)
    stopping = client.stop_training(model.id)
    assert (stopping.id, stopping.status) == (model.id, "Stopping")
    with pytest.raises(Conflict):
        client.delete_model(model.id)  # still training until it has stopped
    stopped = wait_for(lambda: client.get_model(model.id), lambda m: m.status == "Stopped")
    assert stopped.status == "Stopped"
    with pytest.raises(Conflict):
        client.start_training(model.id)  # "once stopped, training cannot be resumed"
    client.delete_model(model.id)


@pytest.mark.profiles("reference")
def test_text_to_image_returns_served_results(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    model = _trained(bria)
    answer = bria.client.text_to_image(model.id, prompt="a castle", num_results=2, seed=7)
    results = answer["result"]
    assert len(results) == 2
    fetched = bria.fetch(results[0]["urls"][0])
    assert fetched.status_code == 200
    assert Image.open(io.BytesIO(fetched.content)).format == "PNG"


@pytest.mark.profiles("reference")
def test_text_to_vector_and_reimagine(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    client = bria.client
    model = _trained(bria)
    vector = client.text_to_vector(model.id, prompt="a castle", num_results=1)
    assert bria.fetch(vector["result"][0]["urls"][0]).status_code == 200
    structure = base64.b64encode(make_png(2)).decode()
    image = client.reimagine(model.id, prompt="a castle", structure_image_file=structure)
    assert image["result"]


INVALID_GENERATION_PARAMS: list[dict[str, object]] = [
    {"prompt": "x", "num_results": 5},
    {"prompt": "x", "aspect_ratio": "7:5"},
    {"prompt": "x", "steps_num": 3},
    {"prompt": "x", "fast": False, "num_results": 3},
    {"prompt": "x", "model_influence": 1.5},
    {"prompt": "x", "guidance_method_1": "controlnet_sketch"},
    {"prompt": "x", "num_results": 1, "guidance_method_1": "controlnet_canny"},
    {"prompt": "x", "num_results": 1, "guidance_method_2": "controlnet_depth",
     "guidance_method_2_image_file": "AAAA"},
    {"prompt": "x", "image_prompt_mode": "content_only"},
    {"num_results": 1},
]  # fmt: skip


@pytest.mark.profiles("reference")
def test_generation_parameters_are_validated_400(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    model = _trained(bria)
    for params in INVALID_GENERATION_PARAMS:
        with pytest.raises(BadRequest) as info:
            bria.client.text_to_image(model.id, **params)
        assert str(info.value).startswith(
            f"POST /text-to-image/tailored/{model.id}: 400 Bad Request: "
        ), params
    assert bria.client.text_to_image(model.id, prompt="x", num_results=1)["result"]


@pytest.mark.profiles("reference")
def test_max_models_do_not_generate_fast(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    model = _trained(bria, "max")
    with pytest.raises(BadRequest, match="fast"):
        bria.client.text_to_image(model.id, prompt="x", fast=True)
    assert bria.client.text_to_image(model.id, prompt="x", fast=False, num_results=1)["result"]


@pytest.mark.profiles("reference")
def test_generation_with_an_untrained_model_is_refused(bria: Target) -> None:
    model = _model(bria)
    with pytest.raises(BadRequest):
        bria.client.text_to_image(model.id, prompt="a castle", num_results=1)
