"""End to end: `reconciler generate` and `samples` with a current-generation model (training_mode)
on the emulator's current profile: they go through /v2/image/generate/tailored (one image per
request, 202s polled at /v2/status), and what /v2 does not take is refused before any call."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e_support import TOKEN, World, admin, running_emulator, set_knobs
from manifest_builders import png_bytes

from reconciler.client import BriaClient

SCHEMA = '{"style": "flat vector illustration", "colors": ["purple", "teal"]}'


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.chdir(tmp_path)
    with running_emulator(tmp_path / "emu", training_seconds=0.1, api_profile="current") as srv:
        yield World(tmp_path, srv)


def _current_model(world: World) -> int:
    """A project and a trained training_mode model, made with the client (as the console would)."""
    with BriaClient(world.server.url, TOKEN) as client:
        project = client.create_project(
            project_name="badges", ip_type="icons", ip_medium="illustration"
        )
        dataset = client.create_dataset(project_id=project.id, name="badges-v1")
        client.update_dataset(dataset.id, visual_schema=SCHEMA)
        for seed in range(5):
            client.upload_image(dataset.id, file=png_bytes(seed + 1))
        client.update_dataset(dataset.id, status="completed")
        model = client.create_model(
            name="badges-auto", dataset_id=dataset.id, training_mode="fully_automated"
        )
        client.start_training(model.id)
        deadline = time.monotonic() + 20
        while client.get_model(model.id).status != "Completed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return model.id


def _manifests(world: World) -> None:
    folder = world.root / "manifests"
    (folder / "images").mkdir(parents=True)
    for seed in range(5):
        (folder / "images" / f"badge-{seed}.png").write_bytes(png_bytes(seed + 1))
    docs = [
        {"apiVersion": "tailored-gen/v1", "kind": "Project", "metadata": {"name": "badges"},
         "spec": {"ip_type": "icons", "ip_medium": "illustration"}},
        {"apiVersion": "tailored-gen/v1", "kind": "Dataset",
         "metadata": {"name": "badges-v1", "project": "badges"},
         "spec": {"images": "images", "visual_schema": json.loads(SCHEMA)}},
        {"apiVersion": "tailored-gen/v1", "kind": "Model",
         "metadata": {"name": "badges-auto", "project": "badges"},
         "spec": {"dataset": "badges-v1", "training_mode": "fully_automated",
                  "samples": [{"prompt": "a gold star badge", "seed": 5}]}},
    ]  # fmt: skip
    (folder / "badges.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))


def _requests(world: World) -> dict[str, int]:
    return dict(admin(world.server, "GET", "stats")["by_route"])


def test_generate_uses_v2_and_refuses_what_v2_does_not_take(world: World) -> None:
    model_id = _current_model(world)
    _manifests(world)
    set_knobs(world.server, generation_seconds=0.2)  # /v2 answers 202: polled at /v2/status
    result = world.cli(
        "generate", "badges/badges-auto", "manifests", "--prompt", "a gold star badge",
        "--num-results", "2", "--seed", "9", "--steps", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 2 and all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    sidecar = json.loads(paths[1].with_suffix(".json").read_text())
    assert (sidecar["route"], sidecar["model_id"]) == ("v2/image/generate/tailored", model_id)
    assert sidecar["request"] == {
        "prompt": "a gold star badge",
        "seed": 9,
        "steps_num": 30,
        "num_results": 2,
    }
    assert _requests(world).get("POST /v2/image/generate/tailored") == 2

    before = _requests(world)
    for args, expected in [
        (["--vector"], "current-generation model (training_mode): drop --vector"),
        (["--fast"], "drop --fast/--no-fast: /v2 has no fast mode"),
        (["--steps", "8"], "current-generation models take steps_num 20-50"),
    ]:
        refused = world.cli(
            "generate", "badges/badges-auto", "manifests", "--prompt", "a badge", *args
        )
        assert refused.exit_code == 1, refused.output
        assert expected in refused.stderr, refused.stderr
    assert _requests(world) == before  # refused from the manifest: not one call


def test_samples_of_a_current_generation_model(world: World) -> None:
    _current_model(world)
    _manifests(world)
    first = world.cli("samples", "manifests")
    assert first.exit_code == 0, first.output
    assert first.stderr.startswith("samples: 1 image to generate (1 request; 0 cached)")
    assert "lora" not in first.stdout and Path("generated/samples/index.html").is_file()
    again = world.cli("samples", "manifests")
    assert again.stderr.startswith("samples: 0 images to generate (0 requests; 1 cached)")
    assert _requests(world).get("POST /v2/image/generate/tailored") == 1
