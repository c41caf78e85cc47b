"""Contract: projects (reference "Create Project" .. "Delete Project"), code by code."""

from __future__ import annotations

import os
from typing import Any

import pytest

from reconciler.client import BadRequest, NotFound, Unauthorized

from .target import Target, make_png


def _character(bria: Target, label: str = "lora") -> dict[str, Any]:
    return {
        "project_name": bria.name(label),
        "ip_type": "defined_character",
        "ip_medium": "illustration",
        "ip_name": "Lora",
        "ip_description": "a female character with purple hair",
        "project_description": "contract suite",
    }


def test_create_get_list_update_delete(bria: Target) -> None:
    client = bria.client
    created = client.create_project(**_character(bria))
    assert created.project_name == bria.name("lora")
    assert (created.ip_type, created.ip_medium) == ("defined_character", "illustration")
    assert (created.ip_name, created.ip_description) == (
        "Lora",
        "a female character with purple hair",
    )
    assert created.project_description == "contract suite"

    assert client.get_project(created.id) == created
    assert created.id in [p.id for p in client.list_projects()]

    updated = client.update_project(created.id, ip_description="a girl with purple hair")
    assert updated.ip_description == "a girl with purple hair"
    assert updated.project_name == created.project_name  # untouched fields stay
    assert client.get_project(created.id).ip_description == "a girl with purple hair"

    client.delete_project(created.id)
    with pytest.raises(NotFound) as info:
        client.get_project(created.id)
    assert str(info.value).startswith(f"GET /tailored-gen/projects/{created.id}: 404 Not Found")
    assert created.id not in [p.id for p in client.list_projects()]


def test_unknown_project_is_404_on_every_route(bria: Target) -> None:
    client, missing = bria.client, 987654321
    for call in (
        lambda: client.get_project(missing),
        lambda: client.update_project(missing, project_name=bria.name("x")),
        lambda: client.delete_project(missing),
        lambda: client.list_project_datasets(missing),
        lambda: client.list_project_models(missing),
    ):
        with pytest.raises(NotFound):
            call()


@pytest.mark.parametrize(
    ("changes", "drop"),
    [
        ({"ip_type": "superhero"}, None),
        ({"ip_medium": "sculpture"}, None),
        ({"ip_type": "icons", "ip_medium": "photography"}, None),
        ({"ip_type": "multi_object_set", "ip_medium": "photography"}, None),
        ({"ip_type": "character_variants", "ip_medium": "photography"}, None),
        ({"ip_type": "object_variants", "ip_medium": "photography"}, None),
        ({}, "ip_name"),
        ({}, "ip_description"),
        ({"ip_type": "object_variants"}, "ip_description"),
        ({}, "project_name"),
        ({"ip_medium": ""}, None),  # both required
        ({"ip_type": ""}, None),
        ({"ip_name": "Captain Lora The Brave"}, None),  # "1-3 words"
        ({"ip_description": "a tall female character with long purple hair"}, None),  # "up to 6"
    ],
)
def test_create_rules_are_400(bria: Target, changes: dict[str, Any], drop: str | None) -> None:
    body = {**_character(bria), **changes}
    if drop:
        body.pop(drop)
    if "project_name" not in body:
        body["project_name"] = ""
    with pytest.raises(BadRequest) as info:
        bria.client.create_project(**body)
    assert info.value.status == 400
    assert info.value.api_message  # Bria says which rule
    names = [p.project_name for p in bria.client.list_projects()]
    assert bria.name("lora") not in names  # nothing was created


def test_types_without_ip_requirements_need_no_ip_fields(bria: Target) -> None:
    created = bria.client.create_project(
        project_name=bria.name("scene"), ip_type="stylized_scene", ip_medium="photography"
    )
    assert (created.ip_type, created.ip_medium, created.ip_name, created.ip_description) == (
        "stylized_scene",
        "photography",
        None,
        None,
    )
    assert (created.project_description, created.status) == ("", "active")  # the sample's


def test_deleting_a_project_deletes_its_datasets_images_and_models(bria: Target) -> None:
    """ "Permanently delete a project and all its associated resources, including all
    datasets, images, and models." """
    client = bria.client
    project = client.create_project(
        project_name=bria.name("gone"), ip_type="stylized_scene", ip_medium="illustration"
    )
    dataset = client.create_dataset(project_id=project.id, name=bria.name("ds"))
    bria.prepare(dataset.id)
    image = client.upload_image(dataset.id, file=make_png(21), image_name="a.png")
    model = client.create_model(name=bria.name("m"), dataset_id=dataset.id, **bria.model_kwargs())

    client.delete_project(project.id)

    for call in (
        lambda: client.get_project(project.id),
        lambda: client.get_dataset(dataset.id),
        lambda: client.list_images(dataset.id),
        lambda: client.get_image(dataset.id, image.id),
        lambda: client.get_model(model.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert model.id not in [m.id for m in client.list_models()]
    assert dataset.id not in [d.id for d in client.list_datasets()]


def test_wrong_token_is_401(bria: Target) -> None:
    intruder = bria.new_client(token="not-the-token-0000", max_retries=0)
    with pytest.raises(Unauthorized) as info:
        intruder.list_projects()
    assert str(info.value).startswith("GET /tailored-gen/projects: 401 Unauthorized")
    assert "not-the-token-0000" not in str(info.value)


@pytest.mark.realapi
def test_real_api_run_is_configured() -> None:
    """The whole suite also runs against Bria when both variables are set."""
    if not (os.environ.get("BRIA_API_URL") and os.environ.get("BRIA_API_TOKEN")):
        pytest.skip("set BRIA_API_URL and BRIA_API_TOKEN to run the contract suite on Bria")
    assert os.environ["BRIA_API_URL"].rstrip("/").endswith("/v1")
