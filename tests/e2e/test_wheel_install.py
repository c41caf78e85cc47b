"""The package as a user gets it: the built wheel, installed by its distribution name into a fresh
virtual environment, runs the README quickstart's first command (apply, then a plan that finds
nothing to do) outside this checkout.

Slow (seconds: a wheel build and a venv install, dependencies from the package index or pip's
cache), so it is the only test that installs the package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from test_readme import _quickstart_commands

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.mark.slow
def test_the_wheel_installs_by_its_name_and_runs_the_quickstart(tmp_path: Path) -> None:
    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    wheels = tmp_path / "wheels"
    # --no-build-isolation: the backend [build-system] names is in the test environment (the
    # [test] extra), so pip need not install it into a fresh build environment each time;
    # `pip install -e .` still builds in isolation, proving [build-system] suffices
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(ROOT)],
        ROOT,
    )  # fmt: skip
    built = list(wheels.glob("*.whl"))
    assert [w.name.split("-")[0] for w in built] == [name.replace("-", "_")]
    with zipfile.ZipFile(built[0]) as wheel:
        metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        text = wheel.read(metadata).decode()
        assert "License-Expression: Apache-2.0" in text.splitlines()
        assert any(n.endswith("licenses/LICENSE") for n in wheel.namelist())
        assert "reconciler/schemas/plan.schema.json" in wheel.namelist()

    venv = tmp_path / "venv"
    # no pip inside it (ensurepip alone costs seconds): this pip installs into it (--python);
    # --no-compile: byte-compiling every dependency up front took 6 of the install's 10 s, and
    # Python compiles what the quickstart imports anyway
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
    pip.append("--no-compile")
    _run([*pip, "--find-links", str(wheels), name], tmp_path)

    # the quickstart's tool commands, from a copy of the examples outside any git work tree
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
    }
    env.pop("PYTHONPATH", None)
    # as on a user's machine, the first command leaves the bytecode of what it imported
    # (--no-compile above) for the next one
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    steps = [s.strip() for s in _quickstart_commands()[0].split("&&")]
    tool_steps = [s for s in steps if s.startswith("reconciler ")]
    assert len(tool_steps) == 2, steps
    apply_output = _run(["sh", "-c", tool_steps[0]], work, env)
    assert "Apply complete" in apply_output
    plan_output = _run(["sh", "-c", tool_steps[1]], work, env)  # exit 0: nothing to change
    assert "0 to create" in plan_output or "No changes" in plan_output, plan_output
    assert (work / ".reconciler" / "emulator").is_dir()
    # the installed command is the wheel's, not this checkout's
    where = _run(
        [str(venv / "bin" / "python"), "-c", "import reconciler; print(reconciler.__file__)"],
        work,
        env,
    )
    assert str(venv) in where
    assert (work / "examples").exists()
