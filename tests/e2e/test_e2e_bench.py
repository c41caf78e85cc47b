"""Smoke test of bench/run.py with tiny sizes: it runs, converges and writes its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_with_tiny_sizes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--images", "3", "--latency", "0.002",
         "--results", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| no-change plan, examples | 5 calls," in proc.stdout
    assert "| no-change plan, 3 images | 3 calls," in proc.stdout
    assert "apply 3 images, --parallelism 1" in proc.stdout
    assert "with faults" in proc.stdout
    written = sorted(p.suffix for p in tmp_path.iterdir())
    assert written == [".json", ".md"]


def test_bench_targets_run_quick(tmp_path: Path) -> None:
    """Three of issue 13's targets at tiny sizes (the rest run in the full bench, not in CI);
    quick figures mean nothing, so only the rows are checked, not whether targets are met."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--targets", "--quick",
         "--only", "free", "startup", "emulator", "--results", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| Free tier (10/0.5 s) no-change plan, 14 datasets, --rate-limit free | " in proc.stdout
    assert "vs window floor 0.5 s = " in proc.stdout
    assert "| reconciler --version (median) | " in proc.stdout
    assert "vs python -c 'import click, yaml'" in proc.stdout
    for kind in ("list projects", "upload image", "get model"):
        assert f"| emulator CPU per request: {kind} | " in proc.stdout
    assert proc.stdout.count(" vs bare Starlette app ") == 4
