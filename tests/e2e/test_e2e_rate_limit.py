"""plan under Bria's rate limit (the emulator's per-endpoint window, scaled down to seconds):
--rate-limit and BRIA_RATE_LIMIT pace without 429s, no limit learns it from the 429s, the wait is
announced naming the endpoint, and a bad value is one line with exit 1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import World, admin, make_world, set_knobs
from manifest_builders import image_files

IMAGES_ENDPOINT = "GET /tailored-gen/datasets/{dataset_id}/images"
NOTICE = f"waiting 1 s for Bria's rate limit on {IMAGES_ENDPOINT}"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """An account with one project of 5 datasets, then limited to 3 requests per endpoint per
    second (the shortest window: Retry-After is whole seconds): a no-change plan lists 5 image
    lists, so it must wait once for the window."""
    for made in make_world(tmp_path, monkeypatch):
        made.tree.project("lora")
        for index in range(5):
            made.tree.dataset("lora", f"set{index}", image_files(1, first_seed=index + 1))
        made.apply()
        set_knobs(made.server, rate_limit_per_window=3, rate_window_s=1.0)
        yield made


@pytest.fixture
def unapplied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A manifest of one project, nothing applied: for refusals made before any request."""
    for made in make_world(tmp_path, monkeypatch):
        made.tree.project("lora")
        yield made


def _statuses(world: World) -> Counter[str]:
    return Counter(admin(world.server, "GET", "stats")["by_status"])


@pytest.mark.parametrize("how", [("--rate-limit", "3/1s"), ("BRIA_RATE_LIMIT", "3/1s")])
def test_a_known_limit_paces_the_plan_without_429(world: World, how: tuple[str, str]) -> None:
    before = _statuses(world)
    flag, value = how
    if flag.startswith("--"):
        result = world.plan("--detailed-exitcode", flag, value)
    else:
        world.tree.write()
        result = world.cli("plan", "manifests", "--detailed-exitcode", **{flag: value})
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output
    new = _statuses(world) - before
    assert new["429"] == 0 and new["200"] >= 7


def test_without_a_limit_the_429_is_waited_for_and_announced(world: World) -> None:
    before = _statuses(world)
    result = world.plan("--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output
    assert NOTICE in result.output
    new = _statuses(world) - before
    assert 1 <= new["429"] <= 3  # the reads in flight when the window filled, then paced


def test_a_retry_after_beyond_max_rate_wait_is_one_clear_line(world: World) -> None:
    set_knobs(world.server, rate_limit_per_window=3, rate_window_s=30.0)
    result = world.plan("--max-rate-wait", "5")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {IMAGES_ENDPOINT.split()[0]} /tailored-gen/datasets/")
    assert "429 Too Many Requests" in errors[0]
    assert "longer than the 5 s we wait: try again later or raise --max-rate-wait" in errors[0]


@pytest.mark.parametrize("value", ["fast", "-3", "10/0s"])
def test_a_bad_rate_limit_is_one_line_exit_1(unapplied: World, value: str) -> None:
    result = unapplied.plan("--rate-limit", value)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"rate limit '{value}' is neither a number of requests per minute nor a tier" in (
        result.output
    )
    assert "--rate-limit" in result.output


@pytest.mark.parametrize("phase", ["plan", "apply"])
def test_ctrl_c_stops_a_wait_for_the_rate_limit(world: World, phase: str) -> None:
    """A long pause for the limit ends at Ctrl-C, while reading (worker threads of the plan) or
    while applying: exit 130 in seconds, not after the window."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from e2e_support import cli_env

    world.tree.dataset("lora", "extra", image_files(7, first_seed=50))
    world.tree.write()
    set_knobs(world.server, rate_limit_per_window=0)
    # 5 image lists to read, then 7 uploads to the new dataset: 2 a minute stops the reads,
    # 5 a minute the uploads
    limit, endpoint = {
        "plan": ("2", "GET /tailored-gen/datasets/{dataset_id}/images"),
        "apply": ("5", "POST /tailored-gen/datasets/{dataset_id}/images"),
    }[phase]
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "manifests", "--auto-approve",
         "--rate-limit", limit],
        cwd=world.root, env={**os.environ, **cli_env(world.server)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    for line in process.stderr:
        if f"for Bria's rate limit on {endpoint}" in line:
            break
        assert time.monotonic() < deadline, "no waiting notice"
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert time.monotonic() - interrupted < 10
    if phase == "apply":
        assert "interrupted while waiting for Bria's rate limit" in out + err
    else:
        assert "interrupted" in err


def test_apply_wait_with_three_models_under_the_limit_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case scaled down: 10 requests per endpoint per second, 3 models training
    1.5 s, --wait polls GET /models/{id} past the window: the polls wait for the limit instead
    of dying."""
    for world in make_world(tmp_path, monkeypatch):
        world.tree.project("lora")
        world.tree.dataset("lora", "lora-v1", image_files(3))
        for name in ("m1", "m2", "m3"):
            world.tree.model("lora", name, "lora-v1")
        world.tree.write()
        set_knobs(world.server, training_seconds=1.5, rate_limit_per_window=10, rate_window_s=1.0)
        before = _statuses(world)
        result = world.cli("apply", "manifests", "--auto-approve", "--wait", "--wait-timeout", "60")
        assert result.exit_code == 0, result.output
        assert "All 3 model(s) completed training" in result.output
        new = _statuses(world) - before
        assert new["200"] + new["201"] >= 3 * 4  # creates, starts, polls
        assert new["429"] <= 3
