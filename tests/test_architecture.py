"""The layering STYLE.md asks for, enforced: the planning core stays pure."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("lint-imports (import-linter) is not installed: pip install -e '.[test]'")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 1 kept, 0 broken" in proc.stdout


def test_no_module_named_utils_or_helpers() -> None:
    names = {p.stem for p in (ROOT / "reconciler").rglob("*.py")}
    assert not names & {"utils", "helpers", "misc", "common"}


def test_package_type_checks_strictly() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "reconciler"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
