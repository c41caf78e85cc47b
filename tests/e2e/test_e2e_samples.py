"""End to end: `reconciler samples` against the emulator with short training. Generates each
sample once, reuses the cache on the next run (0 generation calls), and after a retrain renders
the new and the previous version side by side; sample rules are checked by `validate` at the
sample's line."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import TOKEN, World, admin, make_world, set_knobs
from manifest_builders import ManifestTree, image_files


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def _tree(root: Path) -> ManifestTree:
    tree = ManifestTree(root)
    tree.project("lora")
    tree.dataset("lora", "lora-v1", image_files(2, prefix="lora"))
    light = tree.model("lora", "lora-light", "lora-v1")
    light["spec"]["samples"] = [
        {"name": "waving", "prompt": "Lora waving at the camera", "seed": 42},
        {"prompt": "Lora reading a book", "seed": 7, "aspect_ratio": "4:3", "num_results": 2},
    ]
    heavy = tree.model("lora", "lora-max", "lora-v1", training_version="max")
    heavy["spec"]["samples"] = [{"prompt": "Lora in the rain", "seed": 3, "steps_num": 30}]
    return tree


def _wait_completed(world: World, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        models = [m for m in world.raw_state()["models"] if m["status"] != "Deleted"]
        if models and all(m["status"] == "Completed" for m in models):
            return
        time.sleep(0.05)
    raise AssertionError("training did not complete")


def _generation_calls(world: World) -> int:
    routes = admin(world.server, "GET", "stats")["by_route"]
    return sum(n for route, n in routes.items() if route.startswith("POST /v1/text-to-"))


def test_samples_generate_once_then_cache_then_compare_versions(world: World) -> None:
    set_knobs(world.server, training_seconds=0.1)
    world.tree = _tree(world.root)
    world.apply()
    _wait_completed(world)

    first = world.cli("samples", "manifests")
    assert first.exit_code == 0, first.output
    assert first.stderr.splitlines()[0] == (
        "samples: 4 images to generate (3 requests; 0 cached) for 2 model versions; "
        "Bria charges from $0.07"
    )
    assert _generation_calls(world) == 3
    page, summary = (Path(line) for line in first.stdout.splitlines())
    assert page == Path("generated/samples/index.html")
    html = page.read_text()
    assert html.count("<img ") == 4
    for src in re.findall(r'<img src="([^"]+)"', html):
        assert (page.parent / src).read_bytes().startswith(b"\x89PNG")
    assert "lora/lora-light~1 (current)" in html and "previous" not in html
    assert TOKEN not in html
    markdown = summary.read_text()
    assert "| **waving**: Lora waving at the camera | seed 42 | 1 image (seed 42) |" in markdown
    assert "| Lora reading a book | seed 7, 2 results, 4:3 | 2 images (seed 7, 8) |" in markdown
    assert len(markdown) < 65_536

    second = world.cli("samples", "manifests")
    assert second.exit_code == 0, second.output
    assert second.stderr.splitlines()[0] == (
        "samples: 0 images to generate (0 requests; 4 cached) for 2 model versions"
    )
    assert _generation_calls(world) == 3  # nothing generated twice
    assert page.read_text() == html

    world.tree.images[("lora", "lora-v1")]["lora-03.png"] = 33
    world.apply()  # clones the dataset and retrains both models as ~2
    _wait_completed(world)
    dry = world.cli("samples", "manifests", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stderr.splitlines()[0].startswith("samples: 4 images to generate")
    assert dry.stdout == "" and _generation_calls(world) == 3  # --dry-run only counts
    third = world.cli("samples", "manifests")
    assert third.exit_code == 0, third.output
    assert third.stderr.splitlines()[0] == (
        "samples: 4 images to generate (3 requests; 4 cached) for 4 model versions; "
        "Bria charges from $0.07"
    )
    assert _generation_calls(world) == 6
    html = page.read_text()
    light_header = html.index("lora/lora-light~2 (current)")
    assert light_header < html.index("lora/lora-light~1 (previous)")
    assert html.count("<img ") == 8
    markdown = summary.read_text()
    assert (
        "| prompt | parameters | lora/lora-light~2 (current) | lora/lora-light~1 (previous) |"
        in markdown
    )
    waving = "| **waving**: Lora waving at the camera | seed 42 |"
    assert f"{waving} 1 image (seed 42) | 1 image (seed 42) |" in markdown


def test_sample_rules_are_checked_at_the_sample_line(world: World) -> None:
    world.tree = _tree(world.root)
    world.tree.models[("lora", "lora-max")]["spec"]["samples"] = [
        {"prompt": "Lora in the rain", "seed": 3, "fast": True},
        {"prompt": "Lora \u00e0 la plage", "seed": 4},
    ]
    world.tree.models[("lora", "lora-light")]["spec"]["samples"].append(
        {"prompt": "Lora", "seed": 1, "steps_num": 30}
    )
    world.tree.write()
    result = world.cli("validate", "manifests")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert any(
        re.match(r"manifests/lora\.yaml:\d+:\d+: error: model 'lora-max' sample 1 \('Lora in the "
                 r"rain'\): model 'lora/lora-max' was trained with the 'max' training version, "
                 r"which does not support fast generation: drop fast: true", line)
        for line in errors
    ), errors  # fmt: skip
    assert any(
        "sample 2 ('Lora \u00e0 la plage'): the prompt contains '\u00e0'" in e for e in errors
    )
    assert any(
        "model 'lora-light' sample 3 ('Lora'): steps_num 30 is out of range: in fast mode "
        "steps_num must be 4-20" in line
        for line in errors
    ), errors


def test_an_unwritable_out_folder_is_refused_before_anything_is_generated(world: World) -> None:
    world.tree = _tree(world.root)
    world.tree.write()
    (world.root / "notes.txt").write_text("a file, not a folder\n")
    result = world.cli("samples", "manifests", "--out", "notes.txt/page")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "error: cannot write the results to 'notes.txt/page' (--out): Not a directory; nothing "
        "was generated"
    )
    assert _generation_calls(world) == 0


def test_results_paid_for_by_an_interrupted_run_are_downloaded_not_generated_again(
    world: World,
) -> None:
    set_knobs(world.server, training_seconds=0.1)
    world.tree = ManifestTree(world.root)
    world.tree.project("lora")
    world.tree.dataset("lora", "lora-v1", image_files(2, prefix="lora"))
    light = world.tree.model("lora", "lora-light", "lora-v1")
    light["spec"]["samples"] = [{"prompt": "Lora waving", "seed": 5}]
    world.apply()
    _wait_completed(world)
    set_knobs(world.server, generation_seconds=0.6)  # results not ready within the timeout below
    first = world.cli("samples", "manifests", "--wait-timeout", "0.2")
    assert first.exit_code == 1, first.output
    assert "results were not ready after" in first.stderr
    assert _generation_calls(world) == 1
    second = world.cli("samples", "manifests")
    assert second.exit_code == 0, second.output
    assert second.stderr.splitlines()[0] == (
        "samples: 0 images to generate (0 requests; 0 cached; 1 made by an interrupted run, to "
        "download) for 1 model version"
    )
    assert _generation_calls(world) == 1  # paid once, downloaded by the next run
    assert Path("generated/samples/index.html").read_text().count("<img ") == 1
    third = world.cli("samples", "manifests")
    assert third.stderr.splitlines()[0].startswith(
        "samples: 0 images to generate (0 requests; 1 cached)"
    )
    # results whose URLs no longer answer are generated again, said on stderr
    (pending_file,) = [p for p in Path(".reconciler/samples").rglob("meta.json")]
    key_folder = pending_file.parent
    (key_folder / "meta.json").unlink()
    (key_folder / "pending.json").write_text(
        '{"format_version": 1, "results": [{"url": "http://127.0.0.1:9/gone.png", "seed": 5}]}'
    )
    set_knobs(world.server, generation_seconds=0)
    fourth = world.cli("samples", "manifests", "--wait-timeout", "0.2")
    assert fourth.exit_code == 0, fourth.output
    assert "samples: lora/lora-light~1: the interrupted run's results are gone" in fourth.stderr
    assert _generation_calls(world) == 2
