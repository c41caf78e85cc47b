"""Emulator over a real socket: datasets, images and captions, rule by rule."""

from __future__ import annotations

import base64
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.emulator.captions import automatic_caption, default_caption_prefix
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import EmulatorSession, b64, png

LORA_PREFIX = "An illustration of a character named Lora, a female character with purple hair,"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(tmp_path_factory.mktemp("bria"), captions_seconds=0.15) as running:
        yield running


@pytest.fixture(scope="module")
def session(server: EmulatorServer) -> Iterator[EmulatorSession]:
    opened = EmulatorSession(server)
    yield opened
    opened.close()


@pytest.fixture
def bria(session: EmulatorSession) -> EmulatorSession:
    session.reset()
    return session


@pytest.fixture
def dataset(bria: EmulatorSession) -> dict[str, Any]:
    return bria.dataset(bria.project()["id"])


def _path(dataset: dict[str, Any], tail: str = "") -> str:
    return f"/tailored-gen/datasets/{dataset['id']}{tail}"


# ---------------------------------------------------------------- datasets


def test_create_dataset_answers_sample_shape_with_default_prefix(bria: EmulatorSession) -> None:
    project = bria.project()
    response = bria.post(
        "/tailored-gen/datasets", {"project_id": project["id"], "name": "dataset v1"}
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == [
        "id", "project_id", "name", "caption_prefix", "status", "captions_update_status",
        "created_at", "updated_at",
    ]  # fmt: skip
    assert body["caption_prefix"] == LORA_PREFIX
    assert (body["status"], body["captions_update_status"]) == ("draft", "empty")
    assert body["project_id"] == project["id"]


@pytest.mark.parametrize(
    ("ip_type", "ip_medium", "ip_name", "ip_description", "prefix"),
    [
        ("defined_character", "photography", "Sam", "The bearded chef",
         "A photo of a character named Sam, the bearded chef,"),
        ("object_variants", "illustration", None, "A red sneaker",
         "An illustration of a red sneaker,"),
        ("multi_object_set", "illustration", None, None, "An illustration of an object,"),
        ("icons", "illustration", None, None, "An illustration of an icon,"),
        ("character_variants", "illustration", None, None, "An illustration of a character,"),
        ("stylized_scene", "photography", None, None, "A photo of a scene,"),
        ("other", "illustration", None, None, "An illustration,"),
        ("object_variants", "illustration", "Bolt", "A red sports car",
         "An illustration of a red sports car named Bolt,"),
        ("icons", "illustration", "Weather", "thin line glyphs",
         "An illustration of an icon named Weather, thin line glyphs,"),
        ("stylized_scene", "photography", "Neon City", None,
         "A photo of a scene named Neon City,"),
        ("character_variants", "illustration", None, "round chrome bodies",
         "An illustration of a character, round chrome bodies,"),
        ("other", "illustration", "Brand", "bold shapes", "An illustration of Brand, bold shapes,"),
    ],
)  # fmt: skip
def test_default_caption_prefix_templates(
    bria: EmulatorSession,
    ip_type: str,
    ip_medium: str,
    ip_name: str | None,
    ip_description: str | None,
    prefix: str,
) -> None:
    body = {"project_name": "p", "ip_type": ip_type, "ip_medium": ip_medium}
    body |= {"ip_name": ip_name, "ip_description": ip_description}
    assert bria.dataset(bria.project(**body)["id"])["caption_prefix"] == prefix
    assert default_caption_prefix(ip_type, ip_medium, ip_name, ip_description) == prefix


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "d"}, 400, "Missing required field: project_id"),
        ({"project_id": 1}, 400, "Missing required field: name"),
        ({"project_id": "12", "name": "d"}, 400, "Invalid project_id: must be an integer"),
        ({"project_id": 987654, "name": "d"}, 404, "Project not found"),
        ({"project_id": -3, "name": "d"}, 404, "Project not found"),
        ({"project_id": 2**70, "name": "d"}, 400, "Invalid project_id: out of range"),
    ],
)
def test_create_dataset_errors(
    bria: EmulatorSession, body: dict[str, Any], status: int, message: str
) -> None:
    response = bria.post("/tailored-gen/datasets", body)
    assert (response.status_code, response.json()) == (status, {"message": message})


def test_get_dataset_embeds_images_and_lists_count_them(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    image = bria.upload(dataset["id"], name="a.png").json()
    got = bria.get(_path(dataset)).json()
    assert got["images_count"] == 1
    assert got["images"] == [image]
    listed = bria.get("/tailored-gen/datasets").json()
    assert [(d["id"], d["images_count"]) for d in listed] == [(dataset["id"], 1)]
    assert "images" not in listed[0]


def test_project_datasets_include_models_flags(bria: EmulatorSession) -> None:
    project = bria.project()
    dataset = bria.completed_dataset(project["id"])
    model = bria.model(dataset["id"])
    path = f"/tailored-gen/projects/{project['id']}/datasets"
    plain = bria.get(path).json()
    assert "models" not in plain[0] and "model_ids" not in plain[0]
    assert bria.get(path, params={"include_models_ids": "true"}).json()[0]["model_ids"] == [
        str(model["id"])
    ]
    with_models = bria.get(path, params={"include_models": "true"}).json()[0]["models"]
    assert [(m["id"], m["status"]) for m in with_models] == [(model["id"], "Created")]
    assert bria.get("/tailored-gen/projects/424242/datasets").status_code == 404


def test_update_dataset_name_and_prefix(bria: EmulatorSession, dataset: dict[str, Any]) -> None:
    response = bria.put(_path(dataset), {"name": "renamed", "caption_prefix": "A drawing of Lora,"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["caption_prefix"]) == (
        "renamed",
        "A drawing of Lora,",
    )


def test_completing_an_empty_dataset_is_400(bria: EmulatorSession, dataset: dict[str, Any]) -> None:
    response = bria.put(_path(dataset), {"status": "completed"})
    assert response.status_code == 400
    assert response.json() == {"message": "Dataset must have at least 1 image to be completed"}


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"caption_prefix": "new,"}, 409, "Cannot update caption_prefix of a completed dataset"),
        ({"status": "draft"}, 409,
         "Cannot change a completed dataset back to draft; clone it as a draft"),
        ({"status": "finished"}, 400,
         "Invalid status 'finished'. Must be one of: draft, completed"),
    ],
)  # fmt: skip
def test_completed_dataset_refuses_changes(
    bria: EmulatorSession, change: dict[str, Any], status: int, message: str
) -> None:
    dataset = bria.completed_dataset(bria.project()["id"])
    response = bria.put(_path(dataset), change)
    assert (response.status_code, response.json()) == (status, {"message": message})
    assert bria.put(_path(dataset), {"name": "still renamable"}).status_code == 200
    assert bria.put(_path(dataset), {"status": "completed"}).status_code == 200


def test_completed_dataset_refuses_image_changes(bria: EmulatorSession) -> None:
    dataset = bria.completed_dataset(bria.project()["id"])
    image = bria.get(_path(dataset, "/images")).json()[0]
    upload = bria.upload(dataset["id"])
    assert (upload.status_code, upload.json()) == (
        409,
        {"message": "Cannot upload images to a completed dataset"},
    )
    delete = bria.delete(_path(dataset, f"/images/{image['id']}"))
    assert (delete.status_code, delete.json()) == (
        409,
        {"message": "Cannot delete an image from a completed dataset"},
    )
    caption = bria.put(_path(dataset, f"/images/{image['id']}"), {"caption": "x"})
    assert (caption.status_code, caption.json()) == (
        409,
        {"message": "Cannot update caption in a completed dataset"},
    )
    regenerate = bria.put(_path(dataset, "/images"))
    assert regenerate.status_code == 409
    assert bria.get(_path(dataset)).json()["images"] == [image]


def test_clone_makes_a_draft_copy_with_images_and_captions(bria: EmulatorSession) -> None:
    source = bria.completed_dataset(bria.project()["id"], images=2)
    source_images = bria.get(_path(source, "/images")).json()
    edited = source_images[0]
    response = bria.post(_path(source, "/clone"))
    assert response.status_code == 201
    clone = response.json()
    assert clone["name"] == "Copy of dataset v1"
    assert (clone["status"], clone["captions_update_status"]) == ("draft", "empty")
    assert clone["caption_prefix"] == source["caption_prefix"]
    assert clone["images_count"] == 2
    assert [(i["image_name"], i["caption"], i["caption_source"]) for i in clone["images"]] == [
        (i["image_name"], i["caption"], i["caption_source"]) for i in source_images
    ]
    assert {i["id"] for i in clone["images"]}.isdisjoint({i["id"] for i in source_images})
    assert edited["id"] not in {i["id"] for i in clone["images"]}
    named = bria.post(_path(source, "/clone"), {"name": "dataset v2"}).json()
    assert named["name"] == "dataset v2"
    assert bria.post("/tailored-gen/datasets/777777/clone").status_code == 404


def test_delete_dataset_then_404_and_410_for_caption_edits(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    image = bria.upload(dataset["id"]).json()
    assert bria.delete(_path(dataset)).status_code == 204
    assert bria.get(_path(dataset)).json() == {"message": "Dataset not found"}
    gone = bria.put(_path(dataset, f"/images/{image['id']}"), {"caption": "new"})
    assert (gone.status_code, gone.json()) == (410, {"message": "Dataset deleted"})
    assert bria.delete(_path(dataset)).status_code == 404
    assert bria.state()["images"] == []


def test_delete_project_removes_datasets_images_and_models(bria: EmulatorSession) -> None:
    project = bria.project()
    dataset = bria.completed_dataset(project["id"])
    model = bria.model(dataset["id"])
    assert bria.delete(f"/tailored-gen/projects/{project['id']}").status_code == 204
    assert bria.state() == {"projects": [], "datasets": [], "images": [], "models": []}
    assert bria.get(f"/tailored-gen/models/{model['id']}").status_code == 404


# ---------------------------------------------------------------- images


def test_upload_answers_image_object_with_served_urls(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    response = bria.upload(dataset["id"], png(color=(9, 9, 9)), "lora-01.png")
    assert response.status_code == 201
    image = response.json()
    assert list(image) == [
        "id", "dataset_id", "caption", "caption_source", "image_name", "image_url",
        "thumbnail_url", "created_at", "updated_at",
    ]  # fmt: skip
    assert image["image_name"] == "lora-01.png"
    assert image["caption_source"] == "automatic"
    assert image["caption"].startswith(LORA_PREFIX + " ")
    served = httpx.get(image["image_url"], verify=False)
    assert (served.status_code, served.headers["content-type"]) == (200, "image/png")
    thumb = httpx.get(image["thumbnail_url"], verify=False)
    assert (thumb.status_code, thumb.headers["content-type"]) == (200, "image/jpeg")
    assert bria.get(_path(dataset, f"/images/{image['id']}")).json() == image
    assert bria.get(_path(dataset, "/images")).json() == [image]


def test_upload_without_name_gets_a_default_name(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    image = bria.upload(dataset["id"]).json()
    assert image["image_name"] == f"image_{image['id']}.png"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_accepted(
    bria: EmulatorSession, dataset: dict[str, Any], fmt: str
) -> None:
    assert bria.upload(dataset["id"], png(fmt=fmt)).status_code == 201


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` (one empty IDAT; no real pixel data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        pytest.param(b"%PDF-1.7 not an image", 415,
                     "Invalid file type. Supported file types are jpeg, jpg, png, webp", id="pdf"),
        pytest.param(png(fmt="GIF"), 415,
                     "Invalid file type. Supported file types are jpeg, jpg, png, webp", id="gif"),
        pytest.param(png(size=(1023, 1024)), 412,
                     "Image resolution is 1023x1024; the minimum resolution is 1024x1024 pixels",
                     id="narrow"),
        pytest.param(png(size=(2048, 512)), 412,
                     "Image resolution is 2048x512; the minimum resolution is 1024x1024 pixels",
                     id="short"),
        pytest.param(b"\0" * (12 * 1024 * 1024 + 1), 413,
                     "Image file is too large: maximum file size is 12MB", id="over-12MB"),
        pytest.param(_png_header(15_000, 13_334), 400, "Image has too many pixels to process",
                     id="over-200MP"),  # 200,010,000 pixels: refused from the header alone
    ],
)  # fmt: skip
def test_upload_content_checks(
    bria: EmulatorSession, dataset: dict[str, Any], data: bytes, status: int, message: str
) -> None:
    response = bria.upload(dataset["id"], data)
    assert (response.status_code, response.json()) == (status, {"message": message})
    assert bria.state()["images"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Either file or image_url must be provided"),
        ({"file": "***not base64***"}, "Invalid file: the value is not valid base64"),
        ({"file": "aGVs bG8*\n"}, "Invalid file: the value is not valid base64"),
        ({"file": 12}, "Invalid file: must be a string"),
    ],
)
def test_upload_body_errors_are_400(
    bria: EmulatorSession, dataset: dict[str, Any], body: dict[str, Any], message: str
) -> None:
    response = bria.post(_path(dataset, "/images"), body)
    assert (response.status_code, response.json()) == (400, {"message": message})


def test_upload_accepts_data_url_and_image_url(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    data_url = "data:image/png;base64," + b64(png())
    first = bria.post(_path(dataset, "/images"), {"file": data_url})
    assert first.status_code == 201
    by_url = bria.post(_path(dataset, "/images"), {"image_url": first.json()["image_url"]})
    assert by_url.status_code == 201
    assert by_url.json()["image_name"] == f"{first.json()['id']}.png"
    broken = bria.post(_path(dataset, "/images"), {"image_url": "http://127.0.0.1:9/none.png"})
    assert (broken.status_code, broken.json()) == (
        422,
        {"message": "The URL does not point to a valid image or is inaccessible"},
    )


def test_upload_takes_base64_wrapped_over_lines(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    data = png(color=(9, 8, 7))
    wrapped = base64.encodebytes(data).decode()  # MIME style: 76 digits a line
    assert "\n" in wrapped.strip()
    for body in (
        {"file": wrapped},
        {"file": "data:image/png;base64,\n" + wrapped.replace("\n", " \r\n")},
    ):
        answer = bria.post(_path(dataset, "/images"), body)
        assert answer.status_code == 201, answer.text
        assert httpx.get(answer.json()["image_url"], verify=False).content == data


def test_transparent_pixels_become_black(bria: EmulatorSession, dataset: dict[str, Any]) -> None:
    image = bria.upload(dataset["id"], png(mode="RGBA", color=(255, 255, 255, 0))).json()
    from io import BytesIO

    from PIL import Image

    stored = Image.open(BytesIO(httpx.get(image["image_url"], verify=False).content))
    assert (stored.mode, stored.getpixel((10, 10))) == ("RGB", (0, 0, 0))


def test_upload_unknown_dataset_is_404(bria: EmulatorSession) -> None:
    response = bria.post("/tailored-gen/datasets/555555/images", {"file": b64(png())})
    assert (response.status_code, response.json()) == (404, {"message": "Dataset not found"})


def test_image_routes_404(bria: EmulatorSession, dataset: dict[str, Any]) -> None:
    other = bria.dataset(bria.project(project_name="other")["id"])
    image = bria.upload(other["id"]).json()
    for method in ("GET", "PUT", "DELETE"):
        response = bria.http.request(
            method, _path(dataset, f"/images/{image['id']}"), json={"caption": "x"}
        )
        assert (response.status_code, response.json()) == (404, {"message": "Image not found"})
    assert bria.get(_path(dataset, "/images/abc")).status_code == 404


# ---------------------------------------------------------------- captions


def test_automatic_captions_are_deterministic_per_prefix_and_content(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    red, blue = png(color=(255, 0, 0)), png(color=(0, 0, 255))
    first = bria.upload(dataset["id"], red).json()
    again = bria.upload(dataset["id"], red).json()
    other = bria.upload(dataset["id"], blue).json()
    assert first["caption"] == again["caption"]
    state = {i["id"]: i for i in bria.state()["images"]}
    assert first["caption"] == automatic_caption(LORA_PREFIX, state[first["id"]]["sha256"])
    assert other["caption"] == automatic_caption(LORA_PREFIX, state[other["id"]]["sha256"])


def test_manual_caption_then_regenerate_caption(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    image = bria.upload(dataset["id"]).json()
    path = _path(dataset, f"/images/{image['id']}")
    manual = bria.put(path, {"caption": "Lora waving."})
    assert manual.status_code == 200
    assert (manual.json()["caption"], manual.json()["caption_source"]) == ("Lora waving.", "manual")
    regenerated = bria.put(path, {"regenerate_caption": True}).json()
    assert (regenerated["caption"], regenerated["caption_source"]) == (
        image["caption"],
        "automatic",
    )
    both = bria.put(path, {"caption": "Again.", "regenerate_caption": False})
    assert both.status_code == 400  # "You cannot provide both parameters simultaneously"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"caption": "x", "regenerate_caption": True},
         "You cannot provide both parameters simultaneously: send either caption or "
         "regenerate_caption"),
        ({}, "Either caption or regenerate_caption must be provided"),
        ({"regenerate_caption": "yes"}, "Invalid regenerate_caption: must be a boolean"),
        ({"caption": "   "}, "Invalid caption: must not be empty"),
    ],
)  # fmt: skip
def test_caption_update_errors_are_400(
    bria: EmulatorSession, dataset: dict[str, Any], body: dict[str, Any], message: str
) -> None:
    image = bria.upload(dataset["id"]).json()
    response = bria.put(_path(dataset, f"/images/{image['id']}"), body)
    assert (response.status_code, response.json()) == (400, {"message": message})


def test_regenerate_all_is_asynchronous_and_resets_manual_captions(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    images = [bria.upload(dataset["id"], png(color=(n, 1, 1))).json() for n in range(3)]
    bria.put(_path(dataset, f"/images/{images[0]['id']}"), {"caption": "hand written"})
    bria.put(_path(dataset), {"caption_prefix": "A sketch of Lora,"})
    started = bria.put(_path(dataset, "/images"))
    assert started.status_code == 202
    assert started.json()["captions_update_status"] == "in_progress"
    assert list(started.json()) == [
        "id", "project_id", "name", "caption_prefix", "status", "captions_update_status",
        "created_at", "updated_at",
    ]  # fmt: skip
    assert bria.get(_path(dataset)).json()["captions_update_status"] == "in_progress"
    blocked = bria.put(_path(dataset), {"status": "completed"})
    assert blocked.status_code == 409
    time.sleep(0.2)
    done = bria.get(_path(dataset)).json()
    assert done["captions_update_status"] == "completed"
    assert [i["caption_source"] for i in done["images"]] == ["automatic"] * 3
    assert all(i["caption"].startswith("A sketch of Lora, ") for i in done["images"])
    assert bria.put(_path(dataset), {"status": "completed"}).status_code == 200


def test_caption_edited_during_regeneration_is_kept(
    bria: EmulatorSession, dataset: dict[str, Any]
) -> None:
    image = bria.upload(dataset["id"]).json()
    bria.put(_path(dataset, "/images"))
    bria.put(_path(dataset, f"/images/{image['id']}"), {"caption": "edited meanwhile"})
    time.sleep(0.2)
    assert bria.get(_path(dataset, f"/images/{image['id']}")).json()["caption"] == (
        "edited meanwhile"
    )


def test_delete_image_removes_it(bria: EmulatorSession, dataset: dict[str, Any]) -> None:
    keep, drop = (bria.upload(dataset["id"], png(color=(n, 2, 2))).json() for n in range(2))
    response = bria.delete(_path(dataset, f"/images/{drop['id']}"))
    assert (response.status_code, response.content) == (204, b"")
    assert [i["id"] for i in bria.get(_path(dataset, "/images")).json()] == [keep["id"]]
    assert httpx.get(drop["image_url"], verify=False).status_code == 404
