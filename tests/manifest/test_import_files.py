"""Writing an import: downloads carry no token, a failed download leaves nothing behind, and an
existing file stops the whole import before anything is written.

`httpx.MockTransport` stands in for the storage host only to inject its failures; the code under
test is the real writer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest
from manifest_builders import png_bytes

from reconciler.importer.convert import DatasetExport, ImageDownload, ModelExport, ProjectExport
from reconciler.importer.files import ImportRefused, write_exports


def export(*files: str) -> ProjectExport:
    dataset = DatasetExport(
        name="chars",
        remote_name="chars",
        manifest={
            "apiVersion": "tailored-gen/v1",
            "kind": "Dataset",
            "metadata": {"name": "chars", "project": "lora", "adopt": True},
            "spec": {"images": "chars"},
        },
        images=tuple(ImageDownload(f, f, f"https://storage.example/{f}?sig=s3cr3t") for f in files),
        sidecars={"a.txt": "Lora on a beach"},
    )
    project = {"apiVersion": "tailored-gen/v1", "kind": "Project", "metadata": {"name": "lora"}}
    model = ModelExport(
        name="chars-light",
        remote_name="chars-light",
        status="Completed",
        manifest={
            "apiVersion": "tailored-gen/v1",
            "kind": "Model",
            "metadata": {"name": "chars-light", "project": "lora", "protect": True},
            "spec": {"dataset": "chars", "training_version": "light"},
        },
    )
    return ProjectExport(name="lora", manifest=project, datasets=(dataset,), models=(model,))


def test_images_are_downloaded_without_credentials_and_hashed_into_the_lock(
    tmp_path: Path,
) -> None:
    seen: list[httpx.Request] = []

    def storage(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=png_bytes(int(request.url.path[-5])))

    written = write_exports(
        tmp_path, [export("a1.png", "b2.png")], "https://api.example/v1",
        transport=httpx.MockTransport(storage),
    )  # fmt: skip
    assert {r.url.path for r in seen} == {"/a1.png", "/b2.png"}
    assert all("authorization" not in r.headers and "api_token" not in r.headers for r in seen)
    folder = tmp_path / "lora/datasets/chars"
    assert (folder / "a1.png").read_bytes() == png_bytes(1)
    assert (folder / "a.txt").read_text() == "Lora on a beach\n"
    lock = json.loads((tmp_path / "lora/datasets/chars.adopted.json").read_text())
    assert lock["datasets"]["lora/chars"]["images"]["b2.png"] == {
        "remote_name": "b2.png",
        "sha256": hashlib.sha256(png_bytes(2)).hexdigest(),
    }
    assert any("lora/datasets/chars.yaml" in line for line in written.lines)


def test_a_dataset_whose_images_cannot_be_downloaded_is_left_out_whole(tmp_path: Path) -> None:
    def storage(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/b2.png":
            return httpx.Response(403)
        return httpx.Response(200, content=png_bytes(1))

    written = write_exports(
        tmp_path, [export("a1.png", "b2.png")], "https://api.example/v1",
        transport=httpx.MockTransport(storage),
    )  # fmt: skip
    skipped, model = written.skipped
    assert (model.address, model.reason) == (
        "model.lora/chars-light",
        "its dataset 'chars' could not be imported (see above)",
    )
    assert skipped.address == "dataset.lora/chars"
    assert skipped.reason == (
        "image 'b2.png' could not be downloaded from 'https://storage.example/b2.png': 403 "
        "Forbidden; nothing of it was written (import it again later)"
    )  # signed URLs keep their query (sig=...) out of messages
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "lora",
        "lora/project.yaml",
    ]


def test_transient_download_failures_are_tried_again(tmp_path: Path) -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, content=png_bytes(1))])
    written = write_exports(
        tmp_path, [export("a1.png")], "https://api.example/v1",
        transport=httpx.MockTransport(lambda request: next(answers)),
    )  # fmt: skip
    assert written.skipped == []
    assert (tmp_path / "lora/datasets/chars/a1.png").read_bytes() == png_bytes(1)
    assert (tmp_path / "lora/models/chars-light.yaml").exists()


def test_an_existing_target_refuses_the_whole_import(tmp_path: Path) -> None:
    (tmp_path / "lora/datasets/chars").mkdir(parents=True)
    (tmp_path / "lora/datasets/chars/mine.png").write_bytes(b"x")
    with pytest.raises(ImportRefused) as err:
        write_exports(
            tmp_path, [export("a1.png")], "https://api.example/v1",
            transport=httpx.MockTransport(lambda r: httpx.Response(500)),
        )  # fmt: skip
    assert f"exists, not overwritten: {tmp_path / 'lora/datasets/chars'}" in str(err.value)
    assert not (tmp_path / "lora/project.yaml").exists()
