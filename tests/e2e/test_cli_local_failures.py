"""Local trouble is one clear line, never an internal error (issue 8 item 13).

`.reconciler` that is a file or a dangling link, an apply lock that is a directory, a read-only
checkout, a full disk, and `apply` with stdin closed: each names the subject, the reason and the
fix. `validate` and `plan` only lose the digest cache when the state folder is unusable (one
warning); `apply` needs it for its lock, so it stops and says how to point the state elsewhere
(`RECONCILER_STATE_DIR`). Read-only and full file systems are real (a small tmpfs), so those
cases run only where mounting is allowed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import World, cli_env, make_world, run

from reconciler.workspace import STATE_DIR_ENV


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for found in make_world(tmp_path, monkeypatch):
        from manifest_builders import standard_tree

        found.tree = standard_tree(found.root, images=1)
        found.tree.write()
        yield found


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def _apply(world: World, **env: str) -> tuple[int, list[str], str]:
    result = run(world.server, "apply", "manifests", "--auto-approve", **env)
    assert "internal error" not in result.output, result.output
    assert "Traceback" not in result.output
    return result.exit_code, _error_lines(result.stderr), result.stderr


@pytest.mark.parametrize("kind", ["file", "dangling-link"])
def test_a_state_folder_that_is_not_a_folder(world: World, kind: str) -> None:
    state = world.root / ".reconciler"
    if kind == "file":
        state.write_text("not a folder")
    else:
        state.symlink_to(world.root / "gone")

    code, errors, _ = _apply(world)

    assert code == 1
    what = (
        "is a file, not a folder"
        if kind == "file"
        else (f"is a link to '{world.root / 'gone'}', which does not exist")
    )
    assert errors == [
        f"error: the state folder '{state}' {what}; move it away, or set {STATE_DIR_ENV} to "
        "another folder for the reconciler's state"
    ]
    planned = run(world.server, "plan", "manifests")
    assert planned.exit_code == 0, planned.output
    assert "internal error" not in planned.output
    warnings = [line for line in planned.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "digest cache is off" in warnings[0]


def test_an_apply_lock_that_is_a_directory(world: World) -> None:
    lock = world.root / ".reconciler" / "apply.lock"
    lock.mkdir(parents=True)

    code, errors, _ = _apply(world)

    assert code == 1
    assert errors == [
        f"error: the apply lock '{lock}' is a directory; remove it (rmdir '{lock}') and run "
        "apply again"
    ]


def test_the_state_can_live_elsewhere(world: World, tmp_path: Path) -> None:
    (world.root / ".reconciler").write_text("in the way")
    elsewhere = tmp_path / "state-elsewhere"

    code, errors, stderr = _apply(world, **{STATE_DIR_ENV: str(elsewhere)})

    assert (code, errors) == (0, []), stderr
    assert (elsewhere / "apply.lock").exists()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "fs"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip("needs permission to mount a tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_state_folder(world: World, small_fs: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    state = small_fs / "state"

    code, errors, _ = _apply(world, **{STATE_DIR_ENV: str(state)})

    assert code == 1
    assert len(errors) == 1
    assert errors[0].startswith(f"error: cannot write the state folder '{state}': ")
    assert "read-only" in errors[0].lower()
    assert f"set {STATE_DIR_ENV} to a writable folder" in errors[0]


def test_a_full_disk(world: World, small_fs: Path) -> None:
    handle = os.open(small_fs / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(handle, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(handle)
    result = run(world.server, "plan", "manifests", "--out", str(small_fs / "plan.json"))

    assert result.exit_code == 1
    assert "internal error" not in result.output
    errors = _error_lines(result.stderr)
    assert len(errors) == 1
    assert "No space left on device" in errors[0]
    assert "plan.json" in errors[0]
    assert "free some space" in errors[0]


def test_apply_with_stdin_closed(world: World) -> None:
    env = {**os.environ, **cli_env(world.server)}
    command = f"{sys.executable} -m reconciler apply manifests 0<&-"
    closed = subprocess.run(
        command, shell=True, cwd=world.root, env=env, capture_output=True, text=True, timeout=120
    )
    assert closed.returncode == 1
    assert "internal error" not in closed.stderr and "Traceback" not in closed.stderr
    (line,) = _error_lines(closed.stderr)
    assert "refusing to apply without confirmation: stdin is not a terminal; pass " in line
    assert line.endswith("--auto-approve")
    approved = subprocess.run(
        command.replace("manifests", "manifests --auto-approve"),
        shell=True,
        cwd=world.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert approved.returncode == 0, approved.stderr
