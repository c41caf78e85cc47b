"""The layering STYLE.md asks for, enforced: the one-way flow of layers (pyproject's
import-linter contracts), the planning core pure, the emulator apart, and typed seams."""

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
    assert "Contracts: 4 kept, 0 broken" in proc.stdout


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


TYPED_SEAMS = {
    "a misspelt step keyword": (
        """
from reconciler.diff.changes import StepList
from reconciler.steps import CreateModel, Ref

ref = Ref("model", "p", "m")
steps = StepList("model.p/m")
steps.add(CreateModel(**steps.head("create"), dataset=ref, model=ref, trainng_version="light",
                      description=None))
""",
        'Unexpected keyword argument "trainng_version"',
    ),
    "a step paired with the wrong handler": (
        """
from reconciler.apply.context import ApplyContext
from reconciler.apply.handlers import create_project
from reconciler.steps import AnyStep, CreateDataset


def carry_out(ctx: ApplyContext, step: AnyStep) -> str:
    match step:
        case CreateDataset():
            return create_project(ctx, step)
    return ""
""",
        'incompatible type "CreateDataset"; expected "CreateProject"',
    ),
    "a step type without a handler": (
        """
from typing import assert_never

from reconciler.steps import AnyStep, DeleteModel


def carry_out(step: AnyStep) -> str:
    match step:
        case DeleteModel():
            return "deleted"
        case _:
            assert_never(step)
""",
        'Argument 1 to "assert_never" has incompatible type',
    ),
}


@pytest.mark.parametrize("snippet, expected", TYPED_SEAMS.values(), ids=list(TYPED_SEAMS))
def test_mypy_catches_a_mistyped_seam(snippet: str, expected: str, tmp_path: Path) -> None:
    """The typed seams of STYLE.md hold: each snippet is a mistake mypy must report."""
    source = tmp_path / "bad_snippet.py"
    source.write_text(snippet)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert expected in proc.stdout, proc.stdout


def test_every_top_level_module_is_under_the_emulator_contracts() -> None:
    """A new module cannot slip past 'only the CLI wiring starts the emulator' (and the
    emulator may import none of it): both contracts list every top-level module."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    by_name = {c["name"]: c for c in contracts["contracts"]}
    wiring = next(c for name, c in by_name.items() if name.startswith("Only the CLI wiring"))
    apart = by_name["The emulator imports nothing of the product"]
    package = ROOT / "reconciler"
    modules = {
        f"reconciler.{p.stem if p.is_file() else p.name}"
        for p in package.iterdir()
        if (p.suffix == ".py" and not p.stem.startswith("__")) or (p / "__init__.py").exists()
    } - {"reconciler.emulator"}
    assert modules <= set(wiring["source_modules"])
    assert modules - {"reconciler.bria_defaults"} <= set(apart["forbidden_modules"])
