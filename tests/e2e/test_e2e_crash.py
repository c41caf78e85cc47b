"""Issue 5's crash suite: `python -m reconciler apply` killed at many points (by operation count
through RECONCILER_CRASH_AFTER_OPS, and by a real SIGKILL), then rerun to convergence; the account
must hold exactly the declared resources, without a duplicate. Also Ctrl-C: in-flight operations
finish, what is left is listed, exit 130.

A few kill points run by default; RECONCILER_SEEDS adds seeded random ones.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import (
    QUICK_WAITS,
    World,
    admin,
    assert_converged_exactly,
    cli_env,
    make_world,
    run_subprocess,
    set_knobs,
)
from manifest_builders import example_like_tree, standard_tree


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch, **QUICK_WAITS)


def kill_points() -> list[int]:
    points = [1, 6, 14, 24]
    raw = os.environ.get("RECONCILER_SEEDS", "").strip()
    if raw:
        rng = random.Random(raw)
        points += sorted(rng.sample(range(1, 29), 6))
    return points


@pytest.mark.slow
@pytest.mark.parametrize("after_ops", kill_points())
def test_killed_after_k_operations_then_rerun_converges(world: World, after_ops: int) -> None:
    world.tree = example_like_tree(world.root)
    world.tree.write()
    crashed = run_subprocess(
        world.server,
        ["apply", "manifests", "--auto-approve", "--verbose"],
        cwd=world.root,
        RECONCILER_CRASH_AFTER_OPS=str(after_ops),
    )
    assert crashed.returncode == 137, crashed.stdout + crashed.stderr
    assert crashed.stdout.count("  done   ") == after_ops
    assert "Apply complete" not in crashed.stdout
    # the next apply finishes the job; nothing is completed half-uploaded
    state = world.raw_state()
    for dataset in state["datasets"]:
        if dataset["status"] == "completed":
            assert dataset["images_count"] in (8, 6), dataset
    world.apply()
    assert_converged_exactly(world)


def uploads_received(world: World) -> int:
    """Image uploads the emulator has received (counted on arrival, before its latency)."""
    routes = admin(world.server, "GET", "stats").get("by_route", {})
    return sum(v for k, v in routes.items() if k.startswith("POST") and "images" in k)


def read_until(process: subprocess.Popen[str], text: str, timeout: float = 30) -> str:
    """What the process printed on stdout up to `text` (click.echo flushes each line)."""
    assert process.stdout is not None
    output = ""
    deadline = time.monotonic() + timeout
    while text not in output:
        assert time.monotonic() < deadline, output
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            chunk = os.read(process.stdout.fileno(), 65536).decode()
            assert chunk, output  # ended before printing it
            output += chunk
    return output


@pytest.mark.slow
def test_real_sigkill_in_the_middle_of_uploads(world: World) -> None:
    world.tree = example_like_tree(world.root, lora_images=12)
    world.tree.write()
    set_knobs(world.server, latency=0.05)
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "manifests", "--auto-approve"],
        cwd=world.root,
        env={**os.environ, **cli_env(world.server)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and uploads_received(world) < 4:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    set_knobs(world.server, latency=0.0)
    world.apply()
    assert_converged_exactly(world)


def test_ctrl_c_finishes_in_flight_steps_and_lists_the_rest(world: World) -> None:
    world.tree = example_like_tree(world.root, lora_images=12)
    world.tree.write()
    set_knobs(world.server, latency=0.05)
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "manifests", "--auto-approve",
         "--parallelism", "2"],
        cwd=world.root,
        env={**os.environ, **cli_env(world.server)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    # until the first upload arrives: the project and dataset steps are done, most are not
    deadline = time.monotonic() + 30
    while uploads_received(world) < 1:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Not done (" in out
    assert "apply interrupted:" in err
    done = out.count("  + s")
    not_done = out.count("  - s")
    assert done >= 1 and not_done >= 1
    set_knobs(world.server, latency=0.0)
    world.apply()
    assert_converged_exactly(world)


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def test_ctrl_c_while_waiting_for_training_says_training_goes_on(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "manifests", "--auto-approve", "--wait"],
        cwd=world.root,
        env={**os.environ, **cli_env(world.server)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # training takes 30 s on this emulator: interrupt once the wait has begun
    printed = read_until(process, "Waiting for 1 model(s) to finish training")
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=30)
    out = printed + rest
    assert process.returncode == 130, out + err
    assert "Waiting for 1 model(s) to finish training" in out
    assert "interrupt: stopping the wait (training goes on in Bria)..." in err
    [line] = error_lines(err)
    assert line.startswith("error: stopped waiting (interrupted) after 0m0")
    assert line.endswith(
        ": 'lora/lora-light' still training in Bria (it goes on); run 'reconciler plan' later "
        "to see the result"
    )
    assert "Traceback" not in err
    assert world.raw_state()["models"][0]["status"] == "InProgress"


def edit_kill_points() -> list[int]:
    points = [1, 2, 3]
    raw = os.environ.get("RECONCILER_SEEDS", "").strip()
    if raw:
        rng = random.Random(f"edit-{raw}")
        points += sorted(rng.sample(range(4, 12), 4))
    return points


@pytest.mark.slow
@pytest.mark.parametrize("after_ops", edit_kill_points())
def test_killed_during_a_prefix_change_then_rerun_converges(world: World, after_ops: int) -> None:
    """Issue 8: the kill lands in a caption-prefix change of a completed dataset (clone, new
    prefix, regenerate all, captions, complete, retrain): the rerun finishes it, and the
    completed clone's automatic captions continue the new prefix."""
    world.tree = example_like_tree(world.root)
    world.apply()
    new_prefix = "A watercolour of a character named Lora,"
    world.tree.datasets[("lora", "lora-v1")]["spec"]["caption_prefix"] = new_prefix
    world.tree.write()
    crashed = run_subprocess(
        world.server,
        ["apply", "manifests", "--auto-approve"],
        cwd=world.root,
        RECONCILER_CRASH_AFTER_OPS=str(after_ops),
    )
    assert crashed.returncode in (0, 137), crashed.stdout + crashed.stderr
    world.apply()
    replan = world.plan("--detailed-exitcode")
    assert replan.exit_code == 0, replan.output
    state = world.raw_state()
    (clone,) = [d for d in state["datasets"] if d["name"] == "lora-v1~2"]
    assert (clone["status"], clone["caption_prefix"]) == ("completed", new_prefix)
    for image in state["images"]:
        if image["dataset_id"] == clone["id"] and image["caption_source"] == "automatic":
            assert image["caption"].startswith(new_prefix), image
    from e2e_support import duplicates

    assert duplicates(state) == []
