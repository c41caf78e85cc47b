"""Contract: where the reference is explicit and a differential test found the emulator off.

* "Delete Model ... Changes status to Deleted": a deleted model stays in every list with status
  `Deleted` (so the planner's `Deleted` filters run in our own tests);
* "You cannot provide both parameters simultaneously": `caption` with `regenerate_caption` is
  400 whatever their values;
* ip_name and ip_description "will be incorporated into the automatically created caption
  prefix": for every ip_type that has them;
* polish: a model's `description` is `""` when not given, a body that is not JSON by its
  Content-Type is 415, body rules come before the 404 (update project, clone dataset), and a
  non-boolean `include_models` is 400.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .target import Target, make_png


@pytest.fixture
def raw(bria: Target) -> Iterator[httpx.Client]:
    """Plain HTTP to the same backend, for bodies and headers the client never sends."""
    with httpx.Client(
        base_url=bria.base_url.rstrip("/") + "/",
        transport=bria.transport,
        headers={"api_token": bria.token},
        timeout=30,
    ) as client:
        yield client


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _dataset(bria: Target, **project: Any) -> tuple[int, int]:
    fields = {"ip_type": "stylized_scene", "ip_medium": "illustration", **project}
    created = bria.client.create_project(project_name=bria.name("p"), **fields)
    dataset = bria.client.create_dataset(project_id=created.id, name=bria.name("ds"))
    return created.id, dataset.id


@pytest.mark.profiles("reference")
def test_a_deleted_model_stays_listed_with_status_deleted(bria: Target) -> None:
    client = bria.client
    project_id, dataset_id = _dataset(bria)
    kept = client.create_model(
        name=bria.name("kept"), dataset_id=dataset_id, training_version="light"
    )
    gone = client.create_model(
        name=bria.name("gone"), dataset_id=dataset_id, training_version="light"
    )

    client.delete_model(gone.id)

    status = {m.id: m.status for m in client.list_models() if m.id in (kept.id, gone.id)}
    assert status == {kept.id: "Created", gone.id: "Deleted"}
    assert {m.id: m.status for m in client.list_project_models(project_id)} == status
    (listed,) = client.list_project_datasets(
        project_id, include_models=True, include_models_ids=True
    )
    assert {m.id: m.status for m in listed.models or ()} == status
    assert sorted(listed.model_ids or ()) == sorted(status)


@pytest.mark.parametrize(
    "body",
    [
        {"caption": "a cat", "regenerate_caption": False},
        {"caption": "a cat", "regenerate_caption": True},
        {"caption": None, "regenerate_caption": True},
        {"caption": "a cat", "regenerate_caption": None},
    ],
)
def test_caption_and_regenerate_caption_together_are_400(
    bria: Target, raw: httpx.Client, body: dict[str, Any]
) -> None:
    _, dataset_id = _dataset(bria)
    image = bria.client.upload_image(dataset_id, file=make_png(3), image_name="a.png")

    answer = raw.put(f"tailored-gen/datasets/{dataset_id}/images/{image.id}", json=body)

    assert answer.status_code == 400
    assert "You cannot provide both parameters simultaneously" in answer.json()["message"]
    assert bria.client.get_image(dataset_id, image.id).caption == image.caption


@pytest.mark.profiles("reference")
@pytest.mark.parametrize(
    ("ip_type", "ip_name", "ip_description"),
    [
        ("defined_character", "Lora", "a girl with purple hair"),
        ("object_variants", "Bolt", "a red sports car"),
        ("multi_object_set", "Kitchenware", "matte pastel ceramics"),
        ("icons", "Weather", "thin line glyphs"),
        ("character_variants", "Robots", "round chrome bodies"),
        ("stylized_scene", "Neon City", "a rainy cyberpunk street"),
        ("other", "Brand", "bold geometric shapes"),
    ],
)
def test_the_default_prefix_incorporates_ip_name_and_ip_description(
    bria: Target, ip_type: str, ip_name: str, ip_description: str
) -> None:
    _, dataset_id = _dataset(bria, ip_type=ip_type, ip_name=ip_name, ip_description=ip_description)
    prefix = bria.client.get_dataset(dataset_id).caption_prefix or ""
    assert ip_name in prefix
    assert ip_description in prefix


@pytest.mark.profiles("reference")
def test_a_model_without_description_has_an_empty_one(bria: Target, raw: httpx.Client) -> None:
    _, dataset_id = _dataset(bria)
    created = raw.post(
        "tailored-gen/models",
        json={"name": bria.name("m"), "dataset_id": dataset_id, "training_version": "light"},
    )
    assert created.status_code == 201
    assert created.json()["description"] == ""
    assert raw.get(f"tailored-gen/models/{created.json()['id']}").json()["description"] == ""


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'--b\r\nContent-Disposition: form-data; name="project_name"\r\n\r\nx\r\n--b--\r\n',
         "multipart/form-data; boundary=b"),
        (b"project_name=x", "application/x-www-form-urlencoded"),
        (b'{"project_name": "x"}', "text/plain"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_json_by_its_content_type_is_415(
    raw: httpx.Client, content: bytes, content_type: str
) -> None:
    answer = raw.post(
        "tailored-gen/projects", content=content, headers={"content-type": content_type}
    )
    assert (answer.status_code, answer.json()) == (
        415,
        {"message": "Content-Type must be application/json"},
    )


def test_body_rules_come_before_the_404(bria: Target, raw: httpx.Client) -> None:
    missing = 987654321
    update = raw.put(f"tailored-gen/projects/{missing}", json={"project_name": 12})
    assert update.status_code == 400
    clone = raw.post(f"tailored-gen/datasets/{missing}/clone", json={"name": 12})
    assert clone.status_code == 400
    assert raw.post(f"tailored-gen/datasets/{missing}/clone", json={}).status_code == 404
    upload = raw.post(f"tailored-gen/datasets/{missing}/images", json={"image_name": "a.png"})
    assert upload.status_code == 400  # neither file nor image_url
    bad_base64 = raw.post(f"tailored-gen/datasets/{missing}/images", json={"file": "%%%"})
    assert bad_base64.status_code == 400
    good = raw.post(f"tailored-gen/datasets/{missing}/images", json={"file": _b64(make_png(4))})
    assert good.status_code == 404


@pytest.mark.parametrize("value", ["yes", "maybe", "2", ""])
def test_a_non_boolean_include_models_is_400(bria: Target, raw: httpx.Client, value: str) -> None:
    project_id, _ = _dataset(bria)
    answer = raw.get(
        f"tailored-gen/projects/{project_id}/datasets", params={"include_models": value}
    )
    assert answer.status_code == 400
    assert "include_models" in answer.json()["message"]
    ok = raw.get(f"tailored-gen/projects/{project_id}/datasets", params={"include_models": "True"})
    assert ok.status_code == 200


@pytest.mark.profiles("reference")
def test_a_model_keeps_its_training_version_and_dataset(bria: Target, raw: httpx.Client) -> None:
    """Create Model answers the sample's lower-case "created"; Update Model: "Other model
    attributes such as training version and dataset cannot be modified after creation"."""
    _, dataset_id = _dataset(bria)
    _, other_dataset = _dataset(bria)
    created = raw.post(
        "tailored-gen/models",
        json={"name": bria.name("m"), "dataset_id": dataset_id, "training_version": "light"},
    )
    assert (created.status_code, created.json()["status"]) == (201, "created")
    model_id = created.json()["id"]

    raw.put(
        f"tailored-gen/models/{model_id}",
        json={"name": bria.name("m2"), "training_version": "max", "dataset_id": other_dataset},
    )

    after = raw.get(f"tailored-gen/models/{model_id}").json()
    assert (after["training_version"], after["dataset_id"]) == ("light", dataset_id)


@pytest.mark.parametrize("headers", [{}, {"api_token": ""}], ids=["missing", "empty"])
def test_a_request_without_a_token_is_401(bria: Target, headers: dict[str, str]) -> None:
    with httpx.Client(
        base_url=bria.base_url.rstrip("/") + "/", transport=bria.transport, timeout=30
    ) as bare:
        answer = bare.get("tailored-gen/projects", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["message"]
