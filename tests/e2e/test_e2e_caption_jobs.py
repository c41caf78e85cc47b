"""An interrupted caption-prefix change is finished by the next apply (issue 8 items 1 and 2).

The prefix change is two operations: `UpdateDataset(caption_prefix)` then Regenerate All
Captions. Killed between them, the account holds the new prefix and automatic captions that
continue the old one; the next plan must regenerate them (a draft's automatic caption that does
not continue its prefix is a change), on a draft edited in place and on the clone of a completed
dataset (which must not be completed, and trained on, with stale captions). Killed while the
regeneration runs, the next plan must wait for the job (bounded, shown) instead of comparing
captions it is about to overwrite, so the manifest's own captions are set again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    World,
    admin,
    assert_converged_exactly,
    cli_env,
    make_world,
    run_subprocess,
    set_knobs,
)
from manifest_builders import image_files

OLD = "An illustration of Lora, a girl with purple hair,"
NEW = "A watercolour of Lora, a girl with purple hair,"
CAPTION = "Lora waving at the camera"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def _tree(world: World, status: str) -> None:
    world.tree.project("lora")
    world.tree.dataset(
        "lora",
        "lora-v1",
        image_files(4, prefix="lora"),
        captions={"lora-01.png": CAPTION},
        caption_prefix=OLD,
        status=status,
    )
    if status == "completed":
        world.tree.model("lora", "lora-light", "lora-v1")
    world.converge()


def _dataset(world: World, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    state = world.raw_state()
    (dataset,) = [d for d in state["datasets"] if d["name"] == name]
    images = sorted(
        (i for i in state["images"] if i["dataset_id"] == dataset["id"]),
        key=lambda i: i["image_name"],
    )
    return dataset, images


def _assert_finished(world: World, name: str) -> None:
    dataset, images = _dataset(world, name)
    assert dataset["caption_prefix"] == NEW
    for image in images:
        if image["image_name"].startswith("lora-01."):
            assert (image["caption"], image["caption_source"]) == (CAPTION, "manual")
        else:
            assert image["caption_source"] == "automatic"
            assert image["caption"].startswith(NEW), image


def _crash_after(world: World, ops: int) -> str:
    crashed = run_subprocess(
        world.server,
        ["apply", "manifests", "--auto-approve"],
        cwd=world.root,
        RECONCILER_CRASH_AFTER_OPS=str(ops),
    )
    assert crashed.returncode == 137, crashed.stdout + crashed.stderr
    return crashed.stdout


def test_a_draft_killed_after_the_prefix_change_regenerates_on_the_next_apply(
    world: World,
) -> None:
    _tree(world, "draft")
    world.tree.datasets[("lora", "lora-v1")]["spec"]["caption_prefix"] = NEW
    world.tree.write()
    out = _crash_after(world, 1)
    assert "UpdateDataset" in out or "caption prefix" in out.lower()
    dataset, images = _dataset(world, "lora-v1")
    assert dataset["caption_prefix"] == NEW
    assert any(i["caption"].startswith(OLD) for i in images)  # the regeneration never ran

    plan = world.plan("--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "do not continue the caption prefix" in plan.output

    world.apply()
    _assert_finished(world, "lora-v1")
    assert_converged_exactly(world)


def test_a_clone_killed_after_the_prefix_change_is_not_completed_with_stale_captions(
    world: World,
) -> None:
    _tree(world, "completed")
    world.tree.datasets[("lora", "lora-v1")]["spec"]["caption_prefix"] = NEW
    world.tree.write()
    _crash_after(world, 2)  # CloneDataset, UpdateDataset(caption_prefix)
    clone, images = _dataset(world, "lora-v1~2")
    assert (clone["status"], clone["caption_prefix"]) == ("draft", NEW)
    assert any(i["caption"].startswith(OLD) for i in images)

    world.apply()
    _assert_finished(world, "lora-v1~2")
    clone, _ = _dataset(world, "lora-v1~2")
    assert clone["status"] == "completed"
    trained = [m for m in world.raw_state()["models"] if m["status"] != "Deleted"]
    assert sorted(m["name"] for m in trained) == ["lora-light", "lora-light~2"]  # one retrain


def test_killed_during_regenerate_all_the_next_plan_waits_for_the_job(world: World) -> None:
    _tree(world, "draft")
    # the job must outlast the kill and the next plan's first read (0.1 s on an idle machine)
    set_knobs(world.server, captions_seconds=1.5)
    world.tree.datasets[("lora", "lora-v1")]["spec"]["caption_prefix"] = NEW
    world.tree.write()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "manifests", "--auto-approve"],
        cwd=world.root,
        env={**os.environ, **cli_env(world.server)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dataset, _ = _dataset(world, "lora-v1")
        if dataset["captions_update_status"] == "in_progress":
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert admin(world.server, "GET", "state")  # the job keeps running in Bria

    plan = world.plan("--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "waiting: dataset 'lora-v1' is regenerating its captions" in plan.stderr
    assert "caption changes (1): lora-01.png" in plan.output  # the job reset the manual one

    set_knobs(world.server, captions_seconds=0.05)
    world.apply()
    _assert_finished(world, "lora-v1")
    assert_converged_exactly(world)


def test_a_caption_job_that_never_ends_stops_the_plan_after_the_bound(world: World) -> None:
    _tree(world, "draft")
    set_knobs(world.server, captions_seconds=60.0)
    dataset, _ = _dataset(world, "lora-v1")
    world.client().regenerate_captions(dataset["id"])

    plan = world.cli("plan", "manifests", RECONCILER_CAPTION_JOB_WAIT="0.3")

    assert plan.exit_code == 1
    assert "is still regenerating its captions after 0.3 s" in plan.stderr
    assert "run plan again once the job is done" in plan.stderr
