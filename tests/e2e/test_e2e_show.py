"""End to end: `reconciler show PLANFILE` prints a saved plan exactly as `plan` printed it, in
every format, without calling the API (the emulator's request log stays the same)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import World, admin, make_world
from manifest_builders import standard_tree

from reconciler.plan_formats import FORMATS


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def edited_world(world: World) -> None:
    world.tree = standard_tree(world.root, images=3)
    world.tree.datasets[("lora", "lora-v1")]["spec"]["status"] = "draft"
    world.converge()
    files = world.tree.images[("lora", "lora-v1")]
    files["lora-04.png"] = 40
    del files["lora-02.png"]
    world.tree.datasets[("lora", "lora-v1")]["spec"]["captions"] = {"lora-01.png": "on a hill"}


@pytest.mark.parametrize("output_format", FORMATS)
def test_show_prints_what_plan_printed(world: World, output_format: str) -> None:
    edited_world(world)
    planned = world.plan("--out", "saved.json", "--format", output_format)
    assert planned.exit_code == 0, planned.output
    requests = admin(world.server, "GET", "stats")["requests"]
    shown = world.cli("show", "saved.json", "--format", output_format)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == planned.stdout
    assert "lora-04.png" in shown.stdout
    assert admin(world.server, "GET", "stats")["requests"] == requests  # no API call


def test_show_defaults_to_text_and_names_a_missing_file(world: World) -> None:
    edited_world(world)
    planned = world.plan("--out", "saved.json")
    assert world.cli("show", "saved.json").stdout == planned.stdout
    missing = world.cli("show", "nope.json")
    assert missing.exit_code == 1
    assert "plan file 'nope.json' does not exist" in missing.output
    assert "Traceback" not in missing.output
