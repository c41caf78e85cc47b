"""The pure half of `reconciler import`: live records -> minimal manifests, and what is left out.

Records are read from API-shaped answers with the client's own parsers, so the shapes are the
ones `import` sees over HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.client.records import (
    DatasetRecord,
    ImageRecord,
    ModelRecord,
    parse_dataset,
    parse_image,
    parse_model,
    parse_project,
)
from reconciler.importer.convert import (
    ProjectListing,
    Skipped,
    convert_project,
    local_file_name,
)

LORA_PREFIX = "An illustration of a character named Lora, a girl with purple hair,"
PROJECT = {
    "id": 1,
    "project_name": "lora",
    "ip_type": "defined_character",
    "ip_medium": "illustration",
    "ip_name": "Lora",
    "ip_description": "a girl with purple hair",
    "project_description": None,
}


def dataset(
    dataset_id: int, name: str, status: str = "completed", prefix: str = LORA_PREFIX
) -> DatasetRecord:
    return parse_dataset(
        {"id": dataset_id, "project_id": 1, "name": name, "status": status,
         "caption_prefix": prefix, "captions_update_status": "empty"}
    )  # fmt: skip


def image(
    image_id: int,
    dataset_id: int,
    name: str | None,
    caption: str = "auto",
    source: str = "automatic",
) -> ImageRecord:
    return parse_image(
        {"id": image_id, "dataset_id": dataset_id, "image_name": name, "caption": caption,
         "caption_source": source, "image_url": f"http://files/{image_id}.png"}
    )  # fmt: skip


def model(
    model_id: int, dataset_id: int, name: str, status: str, version: str = "light"
) -> ModelRecord:
    return parse_model(
        {"id": model_id, "dataset_id": dataset_id, "project_id": 1, "name": name,
         "status": status, "training_version": version}
    )  # fmt: skip


def listing(
    datasets: list[tuple[DatasetRecord, list[ModelRecord]]],
    images: dict[int, list[ImageRecord]],
    **project: Any,
) -> ProjectListing:
    return ProjectListing(
        record=parse_project({**PROJECT, **project}),
        datasets=tuple((d, tuple(ms)) for d, ms in datasets),
        images=images,
    )


def reasons(skipped: tuple[Skipped, ...]) -> dict[str, str]:
    return {s.address: s.reason for s in skipped}


def test_project_manifest_holds_only_fields_with_values() -> None:
    export = convert_project(listing([], {}, ip_name="", ip_description=None))
    assert export.manifest == {
        "apiVersion": "tailored-gen/v1",
        "kind": "Project",
        "metadata": {"name": "lora"},
        "spec": {"ip_type": "defined_character", "ip_medium": "illustration"},
    }
    described = convert_project(listing([], {}, project_description="Spring campaign"))
    assert described.manifest["spec"]["description"] == "Spring campaign"


def test_dataset_is_adopted_with_default_prefix_omitted_and_manual_captions_as_sidecars() -> None:
    images = [
        image(10, 5, "b.png", "Lora on a beach", "manual"),
        image(11, 5, "a.png"),  # automatic: left to Bria
        image(12, 5, "c.png", "unknown origin", "unknown"),
    ]
    export = convert_project(listing([(dataset(5, "chars"), [])], {5: images}))
    (chars,) = export.datasets
    assert chars.manifest == {
        "apiVersion": "tailored-gen/v1",
        "kind": "Dataset",
        "metadata": {"name": "chars", "project": "lora", "adopt": True},
        "spec": {"images": "chars"},
    }
    assert chars.sidecars == {"b.txt": "Lora on a beach"}
    assert [(i.file_name, i.url) for i in chars.images] == [
        ("a.png", "http://files/11.png"),
        ("b.png", "http://files/10.png"),
        ("c.png", "http://files/12.png"),
    ]


def test_own_prefix_and_draft_status_are_kept() -> None:
    draft = dataset(5, "wip", status="draft", prefix="Lora in spring,")
    export = convert_project(listing([(draft, [])], {5: [image(10, 5, "a.png")]}))
    assert export.datasets[0].manifest["spec"] == {
        "images": "wip",
        "caption_prefix": "Lora in spring,",
        "status": "draft",
    }


def test_images_sharing_a_stem_get_captions_in_the_manifest_not_a_sidecar() -> None:
    images = [image(10, 5, "a.png", "the png", "manual"), image(11, 5, "a.jpg")]
    (chars,) = convert_project(listing([(dataset(5, "chars"), [])], {5: images})).datasets
    assert chars.sidecars == {}
    assert chars.manifest["spec"]["captions"] == {"a.png": "the png"}


def test_digest_names_of_the_reconciler_become_the_plain_file_name() -> None:
    assert local_file_name("lora-01.3f2a9c1b7d4e6a5b.png") == "lora-01.png"
    assert local_file_name("photo 1.png") == "photo 1.png"
    images = [image(10, 5, "lora-01.3f2a9c1b7d4e6a5b.png", "cap", "manual")]
    (chars,) = convert_project(listing([(dataset(5, "chars"), [])], {5: images})).datasets
    assert [(i.file_name, i.remote_name) for i in chars.images] == [
        ("lora-01.png", "lora-01.3f2a9c1b7d4e6a5b.png")
    ]
    assert chars.sidecars == {"lora-01.txt": "cap"}


def test_current_version_is_written_and_older_versions_listed() -> None:
    datasets = [(dataset(5, "streets~1"), []), (dataset(6, "streets~2"), [])]
    export = convert_project(listing(datasets, {6: [image(10, 6, "a.png")]}))
    assert [(d.name, d.remote_name) for d in export.datasets] == [("streets", "streets~2")]
    assert (
        "older version of 'streets' (current: 'streets~2')"
        in reasons(export.skipped)["dataset.lora/streets~1"]
    )


@pytest.mark.parametrize(
    ("name", "images", "why"),
    [
        ("Copy of chars", [("a.png", 10)], "cannot be a manifest name: it contains a space"),
        ("a~b", [("a.png", 10)], "stray '~'"),
        ("chars", [], "it has no images"),
        ("chars", [(None, 10)], "image 10 has no name in Bria"),
        ("chars", [("notes.txt", 10)], "ends with '.txt'"),
        ("chars", [(".hidden.png", 10)], "starts with '.'"),
        ("chars", [("x.png", 10), ("X.PNG", 11)], "ignoring case"),
        ("chars", [("odd.tar gz", 10)], "cannot carry back"),
    ],
)
def test_datasets_that_cannot_be_mapped_are_listed_not_written(
    name: str, images: list[tuple[str | None, int]], why: str
) -> None:
    records = [image(i, 5, n) for n, i in images]
    export = convert_project(listing([(dataset(5, name), [])], {5: records}))
    assert export.datasets == ()
    assert why in reasons(export.skipped)[f"dataset.lora/{name}"]


def test_twin_datasets_are_listed() -> None:
    datasets = [(dataset(5, "chars"), []), (dataset(6, "chars"), [])]
    export = convert_project(listing(datasets, {5: [image(10, 5, "a.png")]}))
    assert export.datasets == ()
    assert "2 datasets named 'chars' (ids 5, 6)" in reasons(export.skipped)["dataset.lora/chars"]


def test_models_kept_as_they_are_are_written_completed_ones_protected() -> None:
    models = [
        model(20, 5, "done", "Completed"),
        model(21, 5, "running", "InProgress", "max"),
        model(22, 5, "failed", "Failed"),
        model(23, 5, "never", "Created"),
        model(24, 5, "stopped", "Stopped"),
        model(25, 4, "old", "Completed"),
        model(26, 5, "v~1", "Completed"),
        model(27, 5, "v~2", "InProgress"),
    ]
    datasets = [
        (dataset(4, "chars~1"), [models[5]]),
        (dataset(5, "chars~2"), models[:5] + models[6:]),
    ]
    export = convert_project(listing(datasets, {5: [image(10, 5, "a.png")]}))
    written = {m.name: m.manifest for m in export.models}
    assert written["done"]["metadata"] == {"name": "done", "project": "lora", "protect": True}
    assert written["done"]["spec"] == {"dataset": "chars", "training_version": "light"}
    assert written["running"]["metadata"] == {"name": "running", "project": "lora"}
    assert written["running"]["spec"]["training_version"] == "max"
    assert written["v"]["metadata"] == {"name": "v", "project": "lora"}  # v~2, InProgress
    assert set(written) == {"done", "running", "v"}
    why = reasons(export.skipped)
    assert "failed" in why["model.lora/failed"]
    assert "never started" in why["model.lora/never"]
    assert "stopped" in why["model.lora/stopped"]
    assert "older version of 'chars~2'" in why["model.lora/old"]
    assert "older version of 'v'" in why["model.lora/v~1"]


def test_a_model_on_a_dataset_that_is_not_imported_is_listed() -> None:
    models = [model(20, 5, "done", "Completed")]
    export = convert_project(listing([(dataset(5, "Copy of x"), models)], {}))
    assert export.models == ()
    assert "'Copy of x' is not imported" in reasons(export.skipped)["model.lora/done"]
