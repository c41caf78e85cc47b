"""Contract: datasets and clone (reference "Create Dataset" .. "Clone Dataset As Draft"), on
both API profiles: where the current generation differs (visual_schema instead of
caption_prefix, 5 images and a schema to complete, 409 instead of 400) the test says so."""

from __future__ import annotations

import pytest

from reconciler.client import BadRequest, BriaError, Conflict, DatasetRecord, NotFound

from .target import VISUAL_SCHEMA, Target, make_png


def _project(bria: Target, label: str = "proj") -> int:
    return bria.client.create_project(
        project_name=bria.name(label), ip_type="icons", ip_medium="illustration"
    ).id


def _dataset_with_images(bria: Target, count: int = 0, label: str = "ds") -> DatasetRecord:
    """A draft with `count` images (default: as many as completing needs)."""
    dataset = bria.client.create_dataset(project_id=_project(bria), name=bria.name(label))
    bria.prepare(dataset.id)
    for seed in range(count or bria.min_images):
        bria.client.upload_image(dataset.id, file=make_png(seed), image_name=f"img-{seed}.png")
    return bria.client.get_dataset(dataset.id)


def test_create_get_list_update_delete(bria: Target) -> None:
    client = bria.client
    project_id = _project(bria)
    created = client.create_dataset(project_id=project_id, name=bria.name("v1"))
    assert (created.project_id, created.name, created.status) == (
        project_id,
        bria.name("v1"),
        "draft",
    )
    assert created.captions_update_status == "empty"
    if bria.current:
        assert (created.caption_prefix, created.visual_schema, created.upload_type) == (
            None,
            None,
            "basic",
        )
    else:
        assert created.caption_prefix  # Bria derives a default prefix from the project

    fetched = client.get_dataset(created.id)
    assert (fetched.id, fetched.name, fetched.images_count, fetched.images) == (
        created.id,
        bria.name("v1"),
        0,
        (),
    )
    assert created.id in [d.id for d in client.list_datasets()]
    assert [d.id for d in client.list_project_datasets(project_id)] == [created.id]

    if bria.current:
        renamed = client.update_dataset(
            created.id, name=bria.name("v1b"), visual_schema=VISUAL_SCHEMA
        )
        assert (renamed.name, renamed.visual_schema) == (bria.name("v1b"), VISUAL_SCHEMA)
    else:
        renamed = client.update_dataset(created.id, name=bria.name("v1b"), caption_prefix="A cat,")
        assert (renamed.name, renamed.caption_prefix) == (bria.name("v1b"), "A cat,")

    client.delete_dataset(created.id)
    with pytest.raises(NotFound):
        client.get_dataset(created.id)
    assert client.list_project_datasets(project_id) == []


def test_unknown_ids_are_404(bria: Target) -> None:
    client, missing = bria.client, 987654321
    with pytest.raises(NotFound, match=r"^POST /tailored-gen/datasets: 404 Not Found"):
        client.create_dataset(project_id=missing, name=bria.name("orphan"))
    for call in (
        lambda: client.get_dataset(missing),
        lambda: client.update_dataset(missing, name="x"),
        lambda: client.delete_dataset(missing),
        lambda: client.clone_dataset(missing),
    ):
        with pytest.raises(NotFound):
            call()


def test_create_without_name_is_400(bria: Target) -> None:
    with pytest.raises(BadRequest):
        bria.client.create_dataset(project_id=_project(bria), name="")


def test_bad_status_is_400(bria: Target) -> None:
    dataset = _dataset_with_images(bria)
    with pytest.raises(BadRequest):
        bria.client.update_dataset(dataset.id, status="archived")
    assert bria.client.get_dataset(dataset.id).status == "draft"


def test_completing_an_empty_dataset_is_refused(bria: Target) -> None:
    dataset = bria.client.create_dataset(project_id=_project(bria), name=bria.name("empty"))
    # reference: 400, the emulator's choice (docs/emulator.md); current: the published 409
    refusal: type[BriaError] = Conflict if bria.current else BadRequest
    with pytest.raises(refusal) as info:
        bria.client.update_dataset(dataset.id, status="completed")
    assert info.value.api_message
    assert bria.client.get_dataset(dataset.id).status == "draft"


def test_completed_dataset_is_frozen(bria: Target) -> None:
    client = bria.client
    dataset = _dataset_with_images(bria)
    completed = client.update_dataset(dataset.id, status="completed")
    assert completed.status == "completed"
    image_id = client.list_images(dataset.id)[0].id

    with pytest.raises(Conflict, match=r"^PUT /tailored-gen/datasets/\d+: 409 Conflict: "):
        if bria.current:
            client.update_dataset(dataset.id, visual_schema='{"style": "other"}')
        else:
            client.update_dataset(dataset.id, caption_prefix="A dog,")
    with pytest.raises(Conflict, match=r"/images: 409 Conflict: "):
        client.upload_image(dataset.id, file=make_png(99))
    with pytest.raises(Conflict):
        client.delete_image(dataset.id, image_id)
    with pytest.raises(Conflict):
        client.update_image_caption(dataset.id, image_id, caption=bria.caption("A new caption"))
    with pytest.raises(Conflict):
        client.update_image_caption(dataset.id, image_id, regenerate_caption=True)

    after = client.get_dataset(dataset.id)
    assert (after.status, after.images_count, after.caption_prefix, after.visual_schema) == (
        "completed",
        bria.min_images,
        dataset.caption_prefix,
        dataset.visual_schema,
    )
    assert client.update_dataset(dataset.id, name=bria.name("renamed")).name == bria.name(
        "renamed"
    )  # the name stays editable


def test_clone_makes_a_draft_copy_with_images_and_captions(bria: Target) -> None:
    client = bria.client
    source = _dataset_with_images(bria, count=max(2, bria.min_images))
    first = client.list_images(source.id)[0]
    client.update_image_caption(source.id, first.id, caption=bria.caption("A hand-written one"))
    client.update_dataset(source.id, status="completed")

    named = client.clone_dataset(source.id, name=bria.name("v2"))
    assert (named.status, named.project_id, named.name) == (
        "draft",
        source.project_id,
        bria.name("v2"),
    )
    assert named.id != source.id
    assert named.captions_update_status == "empty"  # as the reference's sample answer
    copied = sorted(client.list_images(named.id), key=lambda image: image.image_name)
    original = sorted(client.list_images(source.id), key=lambda image: image.image_name)
    assert [(i.image_name, i.caption, i.caption_source) for i in copied] == [
        (i.image_name, i.caption, i.caption_source) for i in original
    ]
    assert {i.id for i in copied}.isdisjoint({i.id for i in original})
    cloned = client.get_dataset(named.id)
    assert (cloned.caption_prefix, cloned.visual_schema, cloned.upload_type) == (
        source.caption_prefix,
        source.visual_schema,
        source.upload_type,
    )

    default = client.clone_dataset(source.id)
    assert default.name == f"Copy of {source.name}"
    assert client.get_dataset(source.id).status == "completed"  # the source is untouched


def test_list_project_datasets_includes_models_on_request(bria: Target) -> None:
    client = bria.client
    dataset = _dataset_with_images(bria)
    model = client.create_model(name=bria.name("m"), dataset_id=dataset.id, **bria.model_kwargs())

    plain = client.list_project_datasets(dataset.project_id)
    assert (plain[0].models, plain[0].model_ids) == (None, None)

    with_models = client.list_project_datasets(dataset.project_id, include_models=True)
    assert with_models[0].models is not None
    assert [(m.id, m.name, m.status) for m in with_models[0].models] == [
        (model.id, bria.name("m"), "Created")
    ]

    with_ids = client.list_project_datasets(dataset.project_id, include_models_ids=True)
    assert with_ids[0].model_ids == (model.id,)
