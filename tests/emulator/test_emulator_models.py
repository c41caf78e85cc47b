"""Emulator over a real socket: models, the training state machine, and generation rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import EmulatorSession, b64, png

TRAINING = 0.2
LORA_PREFIX = "An illustration of a character named Lora, a female character with purple hair,"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(tmp_path_factory.mktemp("bria"), training_seconds=TRAINING) as running:
        yield running


@pytest.fixture(scope="module")
def session(server: EmulatorServer) -> Iterator[EmulatorSession]:
    opened = EmulatorSession(server)
    yield opened
    opened.close()


@pytest.fixture
def bria(session: EmulatorSession) -> EmulatorSession:
    session.reset()
    session.configure(training_seconds=TRAINING, stopping_seconds=0.2)
    return session


@pytest.fixture
def ready(bria: EmulatorSession) -> dict[str, Any]:
    """A completed dataset of a character project."""
    return bria.completed_dataset(bria.project()["id"])


def _model_path(model: dict[str, Any], tail: str = "") -> str:
    return f"/tailored-gen/models/{model['id']}{tail}"


def test_create_model_answers_lower_case_created(
    bria: EmulatorSession, ready: dict[str, Any]
) -> None:
    body = {"name": "Lora Character Model", "dataset_id": ready["id"], "training_version": "max",
            "description": "A model trained on Lora character illustrations"}  # fmt: skip
    response = bria.post("/tailored-gen/models", body)
    assert response.status_code == 201
    model = response.json()
    assert list(model) == [
        "id", "name", "description", "status", "training_version", "generation_prefix",
        "project_id", "dataset_id", "created_at",
    ]  # fmt: skip
    assert model["status"] == "created"
    assert (model["training_version"], model["generation_prefix"]) == ("max", LORA_PREFIX)
    assert (model["project_id"], model["dataset_id"]) == (ready["project_id"], ready["id"])
    got = bria.get(_model_path(model)).json()
    assert got == {**model, "status": "Created"}
    assert bria.get("/tailored-gen/models").json() == [got]
    assert bria.get(f"/tailored-gen/projects/{ready['project_id']}/models").json() == [got]


def test_models_may_be_created_on_a_draft_dataset(bria: EmulatorSession) -> None:
    draft = bria.dataset(bria.project()["id"])
    assert bria.model(draft["id"])["status"] == "created"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"dataset_id": 1, "training_version": "light"}, 400, "Missing required field: name"),
        ({"name": "m", "training_version": "light"}, 400, "Missing required field: dataset_id"),
        ({"name": "m", "dataset_id": 1}, 400, "Missing required field: training_version"),
        ({"name": "m", "dataset_id": 1, "training_version": "Light"}, 400,
         "Invalid training_version 'Light'. Must be one of: light, max"),
        ({"name": "m", "dataset_id": 31337, "training_version": "light"}, 404,
         "Dataset not found"),
    ],
)  # fmt: skip
def test_create_model_errors(
    bria: EmulatorSession, body: dict[str, Any], status: int, message: str
) -> None:
    response = bria.post("/tailored-gen/models", body)
    assert (response.status_code, response.json()) == (status, {"message": message})


def test_max_training_is_refused_for_photography(bria: EmulatorSession) -> None:
    project = bria.project(ip_medium="photography")
    dataset = bria.completed_dataset(project["id"])
    body = {"name": "m", "dataset_id": dataset["id"], "training_version": "max"}
    response = bria.post("/tailored-gen/models", body)
    assert (response.status_code, response.json()) == (
        400,
        {"message": "Training version 'max' is not available when ip_medium=photography"},
    )
    assert (
        bria.post("/tailored-gen/models", {**body, "training_version": "light"}).status_code == 201
    )


def test_update_model_name_and_description(bria: EmulatorSession, ready: dict[str, Any]) -> None:
    model = bria.model(ready["id"])
    response = bria.put(_model_path(model), {"name": "renamed", "description": "new words"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["description"]) == ("renamed", "new words")
    ignored = bria.put(_model_path(model), {"training_version": "max"}).json()
    assert ignored["training_version"] == "light"


def test_training_moves_created_inprogress_completed(
    bria: EmulatorSession, ready: dict[str, Any]
) -> None:
    model = bria.model(ready["id"])
    started = bria.post(_model_path(model, "/start_training"))
    assert (started.status_code, started.json()) == (
        200,
        {"id": model["id"], "status": "InProgress"},
    )
    assert bria.get(_model_path(model)).json()["status"] == "InProgress"
    again = bria.post(_model_path(model, "/start_training"))
    assert (again.status_code, again.json()) == (
        409,
        {"message": "Training already started/cannot be resumed"},
    )
    time.sleep(TRAINING + 0.05)
    assert bria.get(_model_path(model)).json()["status"] == "Completed"
    assert bria.post(_model_path(model, "/start_training")).status_code == 409


def test_training_needs_a_completed_dataset(bria: EmulatorSession) -> None:
    draft = bria.dataset(bria.project()["id"])
    model = bria.model(draft["id"])
    response = bria.post(_model_path(model, "/start_training"))
    assert (response.status_code, response.json()) == (
        412,
        {"message": "Dataset status must be 'completed' to start training"},
    )
    assert bria.get(_model_path(model)).json()["status"] == "Created"


def test_fail_training_marker_ends_failed(bria: EmulatorSession, ready: dict[str, Any]) -> None:
    model = bria.model(ready["id"], name="lora fail-training")
    bria.post(_model_path(model, "/start_training"))
    assert bria.wait_model(model["id"], "Failed")["status"] == "Failed"
    assert bria.post(_model_path(model, "/start_training")).status_code == 409


def test_stop_moves_inprogress_stopping_stopped(
    bria: EmulatorSession, ready: dict[str, Any]
) -> None:
    model = bria.model(ready["id"])
    not_training = bria.post(_model_path(model, "/stop_training"))
    assert (not_training.status_code, not_training.json()) == (
        409,
        {"message": "Training already stopped/not in training"},
    )
    bria.post(_model_path(model, "/start_training"))
    stopped = bria.post(_model_path(model, "/stop_training"))
    assert (stopped.status_code, stopped.json()) == (200, {"id": model["id"], "status": "Stopping"})
    assert bria.get(_model_path(model)).json()["status"] == "Stopping"
    assert bria.post(_model_path(model, "/stop_training")).status_code == 409
    assert bria.wait_model(model["id"], "Stopped")["status"] == "Stopped"
    time.sleep(TRAINING)
    assert bria.get(_model_path(model)).json()["status"] == "Stopped"
    assert bria.post(_model_path(model, "/start_training")).status_code == 409


def test_nothing_in_training_can_be_deleted(bria: EmulatorSession, ready: dict[str, Any]) -> None:
    model = bria.model(ready["id"])
    bria.post(_model_path(model, "/start_training"))
    refusals = {
        _model_path(model): "Cannot delete model while it is in training",
        f"/tailored-gen/datasets/{ready['id']}":
            "Cannot delete a dataset that is used by a model that is in training",
        f"/tailored-gen/projects/{ready['project_id']}":
            "Cannot delete project while models are in training",
    }  # fmt: skip
    for path, message in refusals.items():
        response = bria.delete(path)
        assert (response.status_code, response.json()) == (409, {"message": message})
    bria.post(_model_path(model, "/stop_training"))
    assert bria.delete(_model_path(model)).status_code == 409  # Stopping is still training
    bria.wait_model(model["id"], "Stopped")
    for path in refusals:
        assert bria.delete(path).status_code == 204


def test_deleted_model_reads_deleted_and_stays_listed(
    bria: EmulatorSession, ready: dict[str, Any]
) -> None:
    model = bria.model(ready["id"])
    assert bria.delete(_model_path(model)).status_code == 204
    assert bria.get(_model_path(model)).json()["status"] == "Deleted"
    listed = bria.get("/tailored-gen/models").json()
    assert [(m["id"], m["status"]) for m in listed] == [(model["id"], "Deleted")]
    in_project = bria.get(f"/tailored-gen/projects/{ready['project_id']}/models").json()
    assert [(m["id"], m["status"]) for m in in_project] == [(model["id"], "Deleted")]
    for method, tail in (("PUT", ""), ("DELETE", ""), ("POST", "/start_training")):
        response = bria.http.request(method, _model_path(model, tail), json={"name": "x"})
        assert (response.status_code, response.json()) == (404, {"message": "Model not found"})
    assert bria.state()["models"][0]["status"] == "Deleted"


def test_model_survives_deleting_its_dataset(bria: EmulatorSession, ready: dict[str, Any]) -> None:
    model = bria.model(ready["id"])
    assert bria.delete(f"/tailored-gen/datasets/{ready['id']}").status_code == 204
    kept = bria.get(_model_path(model)).json()
    assert (kept["dataset_id"], kept["generation_prefix"]) == (ready["id"], LORA_PREFIX)
    assert bria.post(_model_path(model, "/start_training")).status_code == 412


@pytest.mark.parametrize("raw", ["424242", "abc"])
def test_unknown_model_is_404(bria: EmulatorSession, raw: str) -> None:
    for method, tail in (("GET", ""), ("POST", "/start_training"), ("POST", "/stop_training")):
        response = bria.http.request(method, f"/tailored-gen/models/{raw}{tail}")
        assert (response.status_code, response.json()) == (404, {"message": "Model not found"})


# ---------------------------------------------------------------- generation


@pytest.fixture
def trained(bria: EmulatorSession, ready: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A completed light model and a completed max model."""
    bria.configure(training_seconds=0)
    light, heavy = bria.model(ready["id"]), bria.model(ready["id"], "max", "m2")
    for model in (light, heavy):
        bria.post(_model_path(model, "/start_training"))
    return {"light": light, "max": heavy}


def test_text_to_image_returns_served_result_urls(
    bria: EmulatorSession, trained: dict[str, dict[str, Any]]
) -> None:
    model_id = trained["light"]["id"]
    response = bria.post(
        f"/text-to-image/tailored/{model_id}", {"prompt": "Lora waving", "seed": 7}
    )
    assert response.status_code == 200
    results = response.json()["result"]
    assert len(results) == 4  # num_results defaults to 4
    assert [r["seed"] for r in results] == [7, 8, 9, 10]  # distinct, the first is the seed
    served = httpx.get(results[0]["urls"][0], verify=False)
    assert (served.status_code, served.headers["content-type"]) == (200, "image/png")
    assert served.content.startswith(b"\x89PNG")
    vector = bria.post(f"/text-to-vector/tailored/{model_id}", {"prompt": "x", "num_results": 1})
    svg = httpx.get(vector.json()["result"][0]["urls"][0], verify=False)
    assert (svg.headers["content-type"], svg.content[:4]) == ("image/svg+xml", b"<svg")
    reimagined = bria.post(
        f"/reimagine/tailored/{model_id}",
        {"prompt": "x", "num_results": 1, "structure_image_file": b64(png())},
    )
    assert reimagined.status_code == 200


def test_max_model_generates_only_without_fast_and_guidance(
    bria: EmulatorSession, trained: dict[str, dict[str, Any]]
) -> None:
    path = f"/text-to-image/tailored/{trained['max']['id']}"
    assert len(bria.post(path, {"prompt": "x"}).json()["result"]) == 2  # fast defaults to false
    fast = bria.post(path, {"prompt": "x", "fast": True})
    assert (fast.status_code, fast.json()) == (
        400,
        {"message": "Models trained with the 'max' version do not support fast generation"},
    )
    guided = bria.post(
        path,
        {"prompt": "x", "num_results": 1, "guidance_method_1": "controlnet_canny",
         "guidance_method_1_image_file": b64(png())},
    )  # fmt: skip
    assert guided.json() == {
        "message": "Models trained with the 'max' version do not support guidance methods"
    }


def test_generation_needs_a_completed_model(bria: EmulatorSession, ready: dict[str, Any]) -> None:
    model = bria.model(ready["id"])
    response = bria.post(f"/text-to-image/tailored/{model['id']}", {"prompt": "x"})
    assert (response.status_code, response.json()) == (
        400,
        {"message": f"Model {model['id']} is not ready for generation: its status is Created"},
    )
    assert bria.post("/text-to-image/tailored/999999", {"prompt": "x"}).status_code == 404


GUIDE = b64(png())
WIDE_GUIDE = b64(png(size=(1536, 1024)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Missing required field: prompt"),
        ({"prompt": "x", "num_results": 0}, "Invalid num_results 0: must be between 1 and 4"),
        ({"prompt": "x", "num_results": 5}, "Invalid num_results 5: must be between 1 and 4"),
        ({"prompt": "x", "fast": False, "num_results": 3},
         "When fast=false, only num_results 1, 2 are supported"),
        ({"prompt": "x", "aspect_ratio": "2:1"},
         "Invalid aspect_ratio '2:1'. Must be one of: "
         "1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9"),
        ({"prompt": "x", "steps_num": 3}, "Invalid steps_num 3: must be between 4 and 20"),
        ({"prompt": "x", "steps_num": 21}, "Invalid steps_num 21: must be between 4 and 20"),
        ({"prompt": "x", "fast": False, "steps_num": 19},
         "Invalid steps_num 19: must be between 20 and 50"),
        ({"prompt": "x", "fast": False, "steps_num": 51},
         "Invalid steps_num 51: must be between 20 and 50"),
        ({"prompt": "x", "model_influence": 1.5},
         "Invalid model_influence 1.5: must be between 0 and 1"),
        ({"prompt": "x", "fast": "yes"}, "Invalid fast: must be a boolean"),
        ({"prompt": "x", "seed": "7"}, "Invalid seed: must be an integer"),
        ({"prompt": "x", "num_results": 1, "guidance_method_2": "controlnet_depth",
          "guidance_method_2_image_file": GUIDE}, "guidance_method_2 requires guidance_method_1"),
        ({"prompt": "x", "num_results": 1, "guidance_method_1": "controlnet_canny"},
         "guidance_method_1_image_file is required when guidance_method_1 is set"),
        ({"prompt": "x", "num_results": 1, "guidance_method_1": "sketch",
          "guidance_method_1_image_file": GUIDE},
         "Invalid guidance_method_1 'sketch'. Must be one of: controlnet_canny, controlnet_depth, "
         "controlnet_recoloring, controlnet_color_grid"),
        ({"prompt": "x", "num_results": 1, "guidance_method_1": "controlnet_canny",
          "guidance_method_1_scale": -0.1, "guidance_method_1_image_file": GUIDE},
         "Invalid guidance_method_1_scale -0.1: must be between 0 and 1"),
        ({"prompt": "x", "num_results": 2, "guidance_method_1": "controlnet_canny",
          "guidance_method_1_image_file": GUIDE},
         "When using a guidance method, num_results must be 1"),
        ({"prompt": "x", "num_results": 1, "guidance_method_1": "controlnet_canny",
          "guidance_method_1_image_file": GUIDE, "guidance_method_2": "controlnet_depth",
          "guidance_method_2_image_file": WIDE_GUIDE},
         "All guidance images must have the same aspect ratio"),
        ({"prompt": "x", "image_prompt_mode": "style"},
         "Invalid image_prompt_mode 'style'. Must be one of: regular, style_only"),
        ({"prompt": "x", "image_prompt_scale": 2},
         "Invalid image_prompt_scale 2: must be between 0 and 1"),
        ({"prompt": "x", "image_prompt_urls": "http://x"},
         "Invalid image_prompt_urls: must be a list of URLs"),
    ],
)  # fmt: skip
def test_text_to_image_parameter_rules(
    bria: EmulatorSession,
    trained: dict[str, dict[str, Any]],
    body: dict[str, Any],
    message: str,
) -> None:
    response = bria.post(f"/text-to-image/tailored/{trained['light']['id']}", body)
    assert (response.status_code, response.json()) == (400, {"message": message})


def test_guided_generation_with_valid_parameters(
    bria: EmulatorSession, trained: dict[str, dict[str, Any]]
) -> None:
    body = {"prompt": "x", "num_results": 1, "guidance_method_1": "controlnet_canny",
            "guidance_method_1_scale": 0.8, "guidance_method_1_image_file": GUIDE,
            "guidance_method_2": "controlnet_depth", "guidance_method_2_image_file": GUIDE,
            "image_prompt_mode": "style_only", "image_prompt_file": GUIDE,
            "fast": False, "steps_num": 30, "aspect_ratio": "16:9"}  # fmt: skip
    response = bria.post(f"/text-to-image/tailored/{trained['light']['id']}", body)
    assert response.status_code == 200, response.text
    assert len(response.json()["result"]) == 1


def test_guidance_image_that_is_not_an_image_is_415(
    bria: EmulatorSession, trained: dict[str, dict[str, Any]]
) -> None:
    body = {"prompt": "x", "num_results": 1, "guidance_method_1": "controlnet_canny",
            "guidance_method_1_image_file": b64(b"plain text")}  # fmt: skip
    response = bria.post(f"/text-to-image/tailored/{trained['light']['id']}", body)
    assert response.status_code == 415


def test_vector_needs_illustration_and_reimagine_needs_light_and_structure(
    bria: EmulatorSession, trained: dict[str, dict[str, Any]]
) -> None:
    photo = bria.completed_dataset(bria.project(ip_medium="photography")["id"])
    photo_model = bria.model(photo["id"])
    bria.post(_model_path(photo_model, "/start_training"))
    vector = bria.post(f"/text-to-vector/tailored/{photo_model['id']}", {"prompt": "x"})
    assert vector.json() == {
        "message": "Text-to-vector is compatible only with illustrative tailored models"
    }
    no_structure = bria.post(f"/reimagine/tailored/{trained['light']['id']}", {"prompt": "x"})
    assert no_structure.json() == {
        "message": "Either structure_image_file or structure_image_url must be provided"
    }
    heavy = bria.post(
        f"/reimagine/tailored/{trained['max']['id']}",
        {"prompt": "x", "structure_image_file": GUIDE},
    )
    assert (heavy.status_code, heavy.json()) == (
        400,
        {"message": "Models trained with the 'max' version do not support reimagine"},
    )
