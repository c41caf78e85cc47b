"""Contract: images and captions (reference "Upload Image" .. "Delete Image"), on both API
profiles. A test's caption "prefix" is the reference's caption_prefix, or in the current
generation a visual schema whose style it is: automatic captions then are JSON structures that
carry that style instead of text that starts with the prefix."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from reconciler.client import (
    BadRequest,
    Conflict,
    Gone,
    NotFound,
    PreconditionFailed,
    Unprocessable,
    UnsupportedMediaType,
)

from .target import Target, make_png, wait_for


def _draft(bria: Target, label: str = "ds", prefix: str | None = None) -> int:
    project = bria.client.create_project(
        project_name=bria.name(f"{label}-project"), ip_type="icons", ip_medium="illustration"
    )
    dataset = bria.client.create_dataset(project_id=project.id, name=bria.name(label))
    if prefix is not None and bria.current:
        bria.client.update_dataset(dataset.id, visual_schema=json.dumps({"style": prefix}))
    elif prefix is not None:
        bria.client.update_dataset(dataset.id, caption_prefix=prefix)
    return dataset.id


def _follows(bria: Target, caption: str | None, prefix: str) -> bool:
    """The automatic caption follows the prefix (reference) or the schema's style (current)."""
    if caption is None:
        return False
    if bria.current:
        return bool(json.loads(caption)["style"] == prefix)
    return caption.startswith(prefix)


def test_upload_list_get_delete(bria: Target) -> None:
    client = bria.client
    dataset_id = _draft(bria, prefix="An icon of a tiny robot,")
    uploaded = client.upload_image(dataset_id, file=make_png(1), image_name="robot.png")
    assert (uploaded.dataset_id, uploaded.image_name, uploaded.caption_source) == (
        dataset_id,
        "robot.png",
        "automatic",
    )
    assert _follows(bria, uploaded.caption, "An icon of a tiny robot,")
    assert uploaded.image_url and uploaded.thumbnail_url

    assert client.get_image(dataset_id, uploaded.id) == uploaded
    assert [i.id for i in client.list_images(dataset_id)] == [uploaded.id]
    dataset = client.get_dataset(dataset_id)
    assert dataset.images_count == 1
    assert dataset.images is not None and [i.id for i in dataset.images] == [uploaded.id]

    client.delete_image(dataset_id, uploaded.id)
    with pytest.raises(NotFound):
        client.get_image(dataset_id, uploaded.id)
    assert client.list_images(dataset_id) == []


def test_uploaded_image_and_thumbnail_are_served(bria: Target) -> None:
    bria.emulator_only("Bria's storage URLs are signed and may need network access")
    dataset_id = _draft(bria)
    uploaded = bria.client.upload_image(dataset_id, file=make_png(2, fmt="JPEG"))
    assert uploaded.image_url and uploaded.thumbnail_url
    full = bria.fetch(uploaded.image_url)
    assert full.status_code == 200
    assert Image.open(io.BytesIO(full.content)).size == (1024, 1024)
    thumb = bria.fetch(uploaded.thumbnail_url)
    assert thumb.status_code == 200
    assert max(Image.open(io.BytesIO(thumb.content)).size) < 1024


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats(bria: Target, fmt: str) -> None:
    uploaded = bria.client.upload_image(_draft(bria), file=make_png(3, fmt=fmt), image_name="x")
    assert uploaded.image_name == "x"


@pytest.mark.parametrize(
    "payload",
    [b"definitely not an image", b"GIF89a" + b"\0" * 64, make_png(4, fmt="GIF")],
    ids=["text", "fake-gif", "real-gif"],
)
def test_non_image_bytes_are_415(bria: Target, payload: bytes) -> None:
    dataset_id = _draft(bria)
    with pytest.raises(UnsupportedMediaType) as info:
        bria.client.upload_image(dataset_id, file=payload)
    assert str(info.value).startswith(
        f"POST /tailored-gen/datasets/{dataset_id}/images: 415 Unsupported Media Type"
    )
    assert bria.client.list_images(dataset_id) == []


@pytest.mark.parametrize("size", [(1023, 1024), (512, 512), (2048, 1000)])
def test_images_under_1024_are_412(bria: Target, size: tuple[int, int]) -> None:
    dataset_id = _draft(bria)
    with pytest.raises(PreconditionFailed):
        bria.client.upload_image(dataset_id, file=make_png(5, size=size))
    assert bria.client.list_images(dataset_id) == []


def test_upload_by_url(bria: Target) -> None:
    if bria.kind == "inprocess":
        pytest.skip("the in-process emulator has no URL the emulator itself can fetch")
    client = bria.client
    source = client.upload_image(_draft(bria, "src"), file=make_png(15), image_name="src.png")
    assert source.image_url
    dataset_id = _draft(bria, "dst")
    copied = client.upload_image(dataset_id, image_url=source.image_url, image_name="copy.png")
    assert (copied.dataset_id, copied.image_name) == (dataset_id, "copy.png")


def test_unreachable_image_url_is_422(bria: Target) -> None:
    dataset_id = _draft(bria)
    with pytest.raises(Unprocessable) as info:
        bria.client.upload_image(dataset_id, image_url="http://127.0.0.1:9/missing.png")
    assert str(info.value).startswith(
        f"POST /tailored-gen/datasets/{dataset_id}/images: 422 Unprocessable Entity"
    )
    assert bria.client.list_images(dataset_id) == []


def test_empty_file_is_no_file_400(bria: Target) -> None:
    with pytest.raises(BadRequest):
        bria.client.upload_image(_draft(bria), file=b"")


def test_upload_to_unknown_dataset_is_404(bria: Target) -> None:
    with pytest.raises(NotFound):
        bria.client.upload_image(987654321, file=make_png(6))


def test_unknown_image_is_404(bria: Target) -> None:
    dataset_id = _draft(bria)
    for call in (
        lambda: bria.client.get_image(dataset_id, 987654321),
        lambda: bria.client.update_image_caption(dataset_id, 987654321, caption=bria.caption("x")),
        lambda: bria.client.delete_image(dataset_id, 987654321),
        lambda: bria.client.list_images(987654321),
    ):
        with pytest.raises(NotFound):
            call()


def test_caption_update_in_a_deleted_dataset_is_410(bria: Target) -> None:
    dataset_id = _draft(bria)
    uploaded = bria.client.upload_image(dataset_id, file=make_png(14))
    bria.client.delete_dataset(dataset_id)
    with pytest.raises(Gone) as info:
        bria.client.update_image_caption(dataset_id, uploaded.id, caption=bria.caption("late"))
    assert str(info.value).startswith(
        f"PUT /tailored-gen/datasets/{dataset_id}/images/{uploaded.id}: 410 Gone"
    )


def test_dataset_holds_at_most_200_images(bria: Target) -> None:
    bria.emulator_only("200 uploads are too slow and costly on the real API")
    if bria.kind == "socket":
        pytest.skip("5 s of uploads: the in-process run covers the rule")
    client = bria.client
    dataset_id = _draft(bria)
    image = make_png(7)
    for index in range(200):
        client.upload_image(dataset_id, file=image, image_name=f"{index}.png")
    with pytest.raises(Conflict) as info:
        client.upload_image(dataset_id, file=image, image_name="201.png")
    assert "200" in (info.value.api_message or "")
    assert client.get_dataset(dataset_id).images_count == 200


def test_manual_caption_and_regenerated_caption(bria: Target) -> None:
    client = bria.client
    dataset_id = _draft(bria, prefix="An icon of a tiny robot,")
    uploaded = client.upload_image(dataset_id, file=make_png(8))

    text = bria.caption("A robot, waving")
    manual = client.update_image_caption(dataset_id, uploaded.id, caption=text)
    assert (manual.caption, manual.caption_source) == (text, "manual")
    assert client.get_image(dataset_id, uploaded.id).caption == text

    regenerated = client.update_image_caption(dataset_id, uploaded.id, regenerate_caption=True)
    assert regenerated.caption_source == "automatic"
    assert regenerated.caption == uploaded.caption  # same prefix and image: same caption


def test_caption_and_regenerate_together_are_400(bria: Target) -> None:
    dataset_id = _draft(bria)
    uploaded = bria.client.upload_image(dataset_id, file=make_png(9))
    with pytest.raises(BadRequest) as info:
        bria.client.update_image_caption(
            dataset_id, uploaded.id, caption="both", regenerate_caption=True
        )
    assert str(info.value).startswith(
        f"PUT /tailored-gen/datasets/{dataset_id}/images/{uploaded.id}: 400 Bad Request"
    )
    assert bria.client.get_image(dataset_id, uploaded.id).caption == uploaded.caption


def test_automatic_captions_are_deterministic_per_prefix_and_image(bria: Target) -> None:
    client = bria.client
    first = _draft(bria, "a", prefix="An icon of a tiny robot,")
    second = _draft(bria, "b", prefix="An icon of a tiny robot,")
    other = _draft(bria, "c", prefix="An icon of a sleepy cat,")
    captions = [client.upload_image(d, file=make_png(10)).caption for d in (first, second, other)]
    assert captions[0] == captions[1]
    assert captions[2] != captions[0]
    assert _follows(bria, captions[2], "An icon of a sleepy cat,")


def test_regenerate_all_captions_is_asynchronous(bria: Target) -> None:
    client = bria.client
    dataset_id = _draft(bria, prefix="An icon of a tiny robot,")
    for seed in (11, 12):
        client.upload_image(dataset_id, file=make_png(seed))
    if bria.current:
        client.update_dataset(dataset_id, visual_schema='{"style": "An icon of a brave knight,"}')
    else:
        client.update_dataset(dataset_id, caption_prefix="An icon of a brave knight,")

    started = client.regenerate_captions(dataset_id)
    assert started.id == dataset_id
    assert started.captions_update_status in ("in_progress", "completed")

    done = wait_for(
        lambda: client.get_dataset(dataset_id),
        lambda d: d.captions_update_status == "completed",
        timeout=120,
    )
    assert done.captions_update_status == "completed"
    captions = [image.caption or "" for image in client.list_images(dataset_id)]
    assert len(captions) == 2
    assert all(_follows(bria, c, "An icon of a brave knight,") for c in captions), captions


def test_regenerate_all_reports_in_progress_first(bria: Target) -> None:
    bria.emulator_only("the emulator's caption time is a knob")
    bria.configure(captions_seconds=0.5)
    dataset_id = _draft(bria)
    bria.client.upload_image(dataset_id, file=make_png(13))
    assert bria.client.regenerate_captions(dataset_id).captions_update_status == "in_progress"
    assert bria.client.get_dataset(dataset_id).captions_update_status == "in_progress"
