"""Emulator over a real socket: auth, error shapes, and the project rules of the reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import CHARACTER_PROJECT, EmulatorSession

TOKEN = "s3cret-token-value"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(tmp_path_factory.mktemp("bria"), token=TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def session(server: EmulatorServer) -> Iterator[EmulatorSession]:
    opened = EmulatorSession(server, token=TOKEN)
    yield opened
    opened.close()


@pytest.fixture
def bria(session: EmulatorSession) -> EmulatorSession:
    session.reset()
    return session


def test_server_url_is_loopback_v1_with_real_port(server: EmulatorServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.url.endswith("/v1")
    assert int(server.url.split(":")[2].split("/")[0]) > 0


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Unauthorized: missing api_token header"),
        ({"api_token": ""}, "Unauthorized: missing api_token header"),
        ({"api_token": "wrong"}, "Unauthorized: invalid api_token"),
        ({"Authorization": f"Bearer {TOKEN}"}, "Unauthorized: missing api_token header"),
    ],
)
def test_missing_or_wrong_token_is_401_json(
    server: EmulatorServer, headers: dict[str, str], message: str
) -> None:
    response = httpx.get(f"{server.url}/tailored-gen/projects", headers=headers, verify=False)
    assert response.status_code == 401
    assert response.json() == {"message": message}
    assert TOKEN not in response.text


def test_any_token_is_accepted_when_none_is_configured(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path) as open_server:
        answer = httpx.get(
            f"{open_server.url}/tailored-gen/projects", headers={"api_token": "x"}, verify=False
        )
        assert (answer.status_code, answer.json()) == (200, [])
        refused = httpx.get(f"{open_server.url}/tailored-gen/projects", verify=False)
        assert refused.status_code == 401


def test_unknown_route_and_wrong_method_answer_json(bria: EmulatorSession) -> None:
    missing = bria.get("/tailored-gen/nothing-here")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    wrong = bria.delete("/tailored-gen/projects")
    assert (wrong.status_code, wrong.json()) == (405, {"message": "Method Not Allowed"})


def test_a_trailing_slash_is_the_same_route_not_a_redirect(bria: EmulatorSession) -> None:
    """The reference writes "PUT /datasets/{dataset_id}/images/" in one place."""
    project = bria.post("/tailored-gen/projects/", CHARACTER_PROJECT)
    assert project.status_code == 201
    assert [p["id"] for p in bria.get("/tailored-gen/projects/").json()] == [project.json()["id"]]
    dataset = bria.dataset(project.json()["id"])
    bria.upload(dataset["id"])

    regenerate = bria.put(f"/tailored-gen/datasets/{dataset['id']}/images/")

    assert (regenerate.status_code, regenerate.json()["captions_update_status"]) == (
        202,
        "in_progress",
    )
    assert bria.get("/tailored-gen/models/999999/").json() == {"message": "Model not found"}
    routes = bria.stats()["by_route"]
    assert routes["GET /v1/tailored-gen/projects"] == 1
    assert routes["PUT /v1/tailored-gen/datasets/{dataset_id}/images"] == 1


def test_create_project_answers_the_reference_sample_shape(bria: EmulatorSession) -> None:
    response = bria.post("/tailored-gen/projects", CHARACTER_PROJECT)
    assert response.status_code == 201
    body = response.json()
    assert list(body) == [
        "id", "project_name", "project_description", "ip_name", "ip_description",
        "ip_medium", "ip_type", "status", "created_at",
    ]  # fmt: skip
    assert body["project_name"] == "Branded Character"
    assert body["project_description"] == ""
    assert (body["ip_name"], body["ip_description"]) == (
        "Lora",
        "A female character with purple hair",
    )
    assert body["status"] == "active"
    assert isinstance(body["id"], int)
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == 20


def test_get_list_update_delete_project(bria: EmulatorSession) -> None:
    project = bria.project(project_description="first")
    assert bria.get(f"/tailored-gen/projects/{project['id']}").json() == project
    assert bria.get("/tailored-gen/projects").json() == [project]
    updated = bria.put(
        f"/tailored-gen/projects/{project['id']}", {"ip_description": "A girl with purple hair"}
    )
    assert updated.status_code == 200
    assert updated.json() == {**project, "ip_description": "A girl with purple hair"}
    assert bria.delete(f"/tailored-gen/projects/{project['id']}").status_code == 204
    gone = bria.get(f"/tailored-gen/projects/{project['id']}")
    assert (gone.status_code, gone.json()) == (404, {"message": "Project not found"})
    assert bria.get("/tailored-gen/projects").json() == []


@pytest.mark.parametrize("raw_id", ["999999", "abc", "1.5", "-1", "0x10"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_or_non_integer_project_id_is_404(
    bria: EmulatorSession, raw_id: str, method: str
) -> None:
    response = bria.http.request(method, f"/tailored-gen/projects/{raw_id}", json={})
    assert (response.status_code, response.json()) == (404, {"message": "Project not found"})


def _without(field: str) -> dict[str, Any]:
    return {k: v for k, v in CHARACTER_PROJECT.items() if k != field}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_without("project_name"), "Missing required field: project_name"),
        ({**CHARACTER_PROJECT, "project_name": "  "}, "Missing required field: project_name"),
        (_without("ip_medium"), "Missing required field: ip_medium"),
        (_without("ip_type"), "Missing required field: ip_type"),
        (
            {**CHARACTER_PROJECT, "ip_medium": "painting"},
            "Invalid ip_medium 'painting'. Must be one of: photography, illustration",
        ),
        (
            {**CHARACTER_PROJECT, "ip_type": "mascot"},
            "Invalid ip_type 'mascot'. Must be one of: multi_object_set, object_variants, icons, "
            "defined_character, character_variants, stylized_scene, other",
        ),
        (_without("ip_name"), "ip_name is required for ip_type 'defined_character'"),
        (_without("ip_description"), "ip_description is required for ip_type 'defined_character'"),
        (
            {"project_name": "p", "ip_medium": "illustration", "ip_type": "object_variants"},
            "ip_description is required for ip_type 'object_variants'",
        ),
        (
            {**CHARACTER_PROJECT, "ip_name": "Captain Jack Sparrow Junior"},
            "Invalid ip_name 'Captain Jack Sparrow Junior': must be 1-3 words",
        ),
        (
            {**CHARACTER_PROJECT, "ip_description": "a tall woman with long purple hair"},
            "Invalid ip_description 'a tall woman with long purple hair': must be a short phrase "
            "of up to 6 words",
        ),
        ({**CHARACTER_PROJECT, "ip_name": 7}, "Invalid ip_name: must be a string"),
        ([], "Invalid request body: a JSON object is required"),
    ],
)
def test_create_project_validation_is_400(bria: EmulatorSession, body: Any, message: str) -> None:
    response = bria.post("/tailored-gen/projects", body)
    assert (response.status_code, response.json()) == (400, {"message": message})
    assert bria.state()["projects"] == []


@pytest.mark.parametrize(
    "ip_type", ["multi_object_set", "object_variants", "icons", "character_variants"]
)
def test_illustration_only_types_reject_photography(bria: EmulatorSession, ip_type: str) -> None:
    body = {"project_name": "p", "ip_medium": "photography", "ip_type": ip_type,
            "ip_description": "a red sneaker"}  # fmt: skip
    response = bria.post("/tailored-gen/projects", body)
    assert response.status_code == 400
    assert response.json() == {
        "message": f"ip_type '{ip_type}' is currently valid only when ip_medium = illustration"
    }
    ok = bria.post("/tailored-gen/projects", {**body, "ip_medium": "illustration"})
    assert ok.status_code == 201


@pytest.mark.parametrize("ip_type", ["defined_character", "stylized_scene", "other"])
def test_types_valid_for_photography(bria: EmulatorSession, ip_type: str) -> None:
    body = {**CHARACTER_PROJECT, "ip_medium": "photography", "ip_type": ip_type}
    assert bria.post("/tailored-gen/projects", body).status_code == 201


def test_malformed_json_body_is_400(bria: EmulatorSession) -> None:
    response = bria.http.post(
        "/tailored-gen/projects", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.json() == {"message": "Invalid request body: malformed JSON"}
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ip_name": ""}, "ip_name is required for ip_type 'defined_character'"),
        (
            {"ip_name": "one two three four"},
            "Invalid ip_name 'one two three four': must be 1-3 words",
        ),
        ({"project_name": ""}, "Invalid project_name: must not be empty"),
    ],
)
def test_update_project_keeps_the_create_rules(
    bria: EmulatorSession, change: dict[str, Any], message: str
) -> None:
    project = bria.project()
    response = bria.put(f"/tailored-gen/projects/{project['id']}", change)
    assert (response.status_code, response.json()) == (400, {"message": message})
    assert bria.get(f"/tailored-gen/projects/{project['id']}").json() == project


def test_update_ignores_fields_that_cannot_change(bria: EmulatorSession) -> None:
    project = bria.project()
    response = bria.put(f"/tailored-gen/projects/{project['id']}", {"ip_type": "icons"})
    assert response.status_code == 200
    assert response.json()["ip_type"] == "defined_character"


def test_ids_are_unique_across_resource_kinds(bria: EmulatorSession) -> None:
    project = bria.project()
    dataset = bria.dataset(project["id"])
    assert dataset["id"] != project["id"]
    assert bria.get(f"/tailored-gen/projects/{dataset['id']}").status_code == 404
