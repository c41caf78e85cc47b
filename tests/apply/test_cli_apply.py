"""The apply/plan command line itself: confirmation on a real terminal (a pty), the working
directory lock, --api-url, an insecure URL, and the exit codes."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import World, cli_env, make_world
from manifest_builders import standard_tree


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def apply_on_a_terminal(world: World, answer: str, *extra: str) -> tuple[int, str]:
    """Run `apply` with stdin/stdout on a pseudo-terminal and answer its question."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "manifests", *extra],
        cwd=world.root,
        env={**os.environ, **cli_env(world.server)},
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"Apply these changes? [y/N]" in seen:
            os.write(leader, answer.encode() + b"\n")
            answered = True
        if process.poll() is not None and not ready:
            break
    process.wait(timeout=30)
    os.close(leader)
    return process.returncode, seen.decode(errors="replace")


def test_confirmation_no_changes_nothing(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    code, output = apply_on_a_terminal(world, "n")
    assert code == 1, output  # a cancelled apply is not a success (issue 10)
    assert "Apply these changes? [y/N]" in output
    assert "Apply cancelled; nothing was changed" in output
    assert world.raw_state()["projects"] == []


def test_confirmation_yes_applies(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    code, output = apply_on_a_terminal(world, "y")
    assert code == 0, output
    assert "Apply complete:" in output
    assert list(world.state()) == ["lora"]


def test_wait_on_a_terminal_shows_a_live_table(world: World) -> None:
    from e2e_support import set_knobs

    set_knobs(world.server, training_seconds=0.2)
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    code, output = apply_on_a_terminal(world, "y", "--wait")
    assert code == 0, output
    assert "Training" in output and "lora/lora-light" in output  # the table's title and row
    assert "Completed" in output
    assert "All 1 model(s) completed training" in output


def test_a_second_apply_in_the_same_directory_is_refused(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    (world.root / ".reconciler").mkdir(exist_ok=True)
    with open(world.root / ".reconciler" / "apply.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a running apply holds
        result = world.cli("apply", "manifests", "--auto-approve")
    assert result.exit_code == 1
    assert "another apply is running in this repository" in result.output
    assert world.raw_state()["projects"] == []
    assert world.cli("apply", "manifests", "--auto-approve").exit_code == 0  # lock released


def test_api_url_flag_and_insecure_urls(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    result = world.cli("plan", "manifests", "--api-url", world.server.url, BRIA_API_URL="")
    assert result.exit_code == 0, result.output
    insecure = world.cli("plan", "manifests", "--api-url", "http://bria.example.com/v1")
    assert insecure.exit_code == 1
    assert "http://bria.example.com/v1" in insecure.output and "https" in insecure.output
    assert "Traceback" not in insecure.output


def test_plan_errors_exit_1_even_with_detailed_exitcode(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.converge()
    world.tree.projects["lora"]["spec"]["ip_medium"] = "photography"
    world.tree.projects["lora"]["spec"]["ip_type"] = "defined_character"
    result = world.plan("--detailed-exitcode")
    assert result.exit_code == 1
    assert "ip_medium cannot change from illustration to photography" in result.output
    assert "the plan has 1 error" in result.output


def test_bad_flags_exit_1_not_2(world: World) -> None:
    plan = world.cli("plan", "--format", "xml", "--detailed-exitcode")
    assert plan.exit_code == 1
    assert "'xml' is not one of 'text', 'json', 'markdown'" in plan.output
    apply = world.cli("apply", "--parallelism", "0")
    assert apply.exit_code == 1
