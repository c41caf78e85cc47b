"""`--debug` works before or after the command name (the real console script, as users run it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("reconciler") or str(Path(sys.executable).parent / "reconciler")
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_debug_after_the_command_is_accepted() -> None:
    before = _run("--debug", "validate", "examples/manifests")
    after = _run("validate", "examples/manifests", "--debug")
    assert before.returncode == after.returncode == 0, after.stderr
    assert before.stdout == after.stdout
    assert "0 errors, 0 warnings" in after.stdout


def test_debug_shows_a_traceback_only_when_asked() -> None:
    plain = _run("plan", "no/such/folder", "--emulator")
    debug = _run("plan", "no/such/folder", "--emulator", "--debug")
    assert plain.returncode == debug.returncode == 1
    assert "Traceback" not in plain.stderr
    assert "path 'no/such/folder' does not exist" in plain.stdout + plain.stderr
    assert "Traceback (most recent call last)" in debug.stderr
