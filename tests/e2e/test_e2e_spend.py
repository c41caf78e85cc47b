"""End to end (issue 14, training spend): a protected model is never replaced or deleted; the
plan refuses with one located line and exit 1, and nothing changes in the account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import World, running_emulator
from manifest_builders import standard_tree


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.chdir(tmp_path)
    with running_emulator(tmp_path / "emu", training_seconds=0.3) as server:
        world = World(tmp_path, server)
        world.tree = standard_tree(tmp_path, images=3)
        yield world


def test_a_protected_model_is_neither_replaced_nor_deleted(world: World) -> None:
    world.apply("--wait")
    assert world.state()["lora"]["models"]["lora-light"]["status"] == "Completed"
    world.tree.models[("lora", "lora-light")]["metadata"]["protect"] = True
    spec = world.tree.datasets[("lora", "lora-v1")]["spec"]
    captions = dict(spec["captions"])
    spec["captions"] = {**captions, "lora-02.png": "new"}
    before = world.raw_state()
    plan = world.plan()
    assert plan.exit_code == 1, plan.output
    refusal = [line for line in plan.output.splitlines() if "error:" in line and "protect" in line]
    lines = (world.tree.manifests / "lora.yaml").read_text().splitlines()
    line = lines.index("  protect: true") + 1
    assert refusal == [
        f"manifests/lora.yaml:{line}:3: error: model 'lora/lora-light' is protected "
        "(metadata.protect: true): the plan would replace it with a new training from scratch "
        "(dataset changed to "
        "'lora-v1~2'); remove metadata.protect from its manifest to let it retrain, or undo the "
        "change"
    ], plan.output
    spec["captions"] = captions
    world.tree.models[("lora", "lora-light")]["metadata"]["delete"] = True
    world.tree.write()
    applied = world.cli("apply", "manifests", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert "remove metadata.protect (to delete it) or metadata.delete (to keep it)" in (
        applied.output
    )
    assert world.raw_state()["models"] == before["models"]
