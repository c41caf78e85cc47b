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


def test_package_type_checks_strictly(mypy_run: tuple[int, str]) -> None:
    returncode, out = mypy_run
    package_errors = [line for line in out.splitlines() if line.startswith("reconciler")]
    assert package_errors == [], out[-4000:]
    # only the bad snippets fail, each in its own file (a crash exits 2, a clean run 0)
    assert returncode == 1, out[-4000:]
    assert f" in {len(TYPED_SEAMS)} files (checked " in out.splitlines()[-1], out[-4000:]


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


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """One `mypy --strict` over the package and every bad snippet (each in its own file): the
    package and the snippets' imports are checked once, with mypy's incremental cache, instead of
    once per snippet. Returns mypy's exit code and its report."""
    folder = tmp_path_factory.mktemp("seams")
    files = []
    for number, (snippet, _expected) in enumerate(TYPED_SEAMS.values()):
        source = folder / f"bad_snippet_{number}.py"
        source.write_text(snippet)
        files.append(str(source))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "reconciler", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("number", range(len(TYPED_SEAMS)), ids=list(TYPED_SEAMS))
def test_mypy_catches_a_mistyped_seam(number: int, mypy_run: tuple[int, str]) -> None:
    """The typed seams of STYLE.md hold: each snippet is a mistake mypy must report, in its file."""
    _snippet, expected = list(TYPED_SEAMS.values())[number]
    _returncode, out = mypy_run
    own = [line for line in out.splitlines() if f"bad_snippet_{number}.py:" in line]
    assert any(": error: " in line and expected in line for line in own), out


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
