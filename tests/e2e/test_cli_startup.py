"""Fast start: `reconciler --version` and `validate` import neither the engine nor httpx nor
Starlette (commands are imported when run, cli.COMMANDS). Checked on the real process: a
subprocess runs the CLI and reports `sys.modules` at exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("httpx", "httpcore", "starlette", "uvicorn", "anyio", "rich")
ENGINE = ("reconciler.apply", "reconciler.client", "reconciler.emulator", "reconciler.diff",
          "reconciler.plan", "reconciler.live")  # fmt: skip


def modules_after(tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    out = tmp_path / "modules.json"
    code = (
        "import atexit, json, sys\n"
        "loaded = lambda: sorted(k for k, v in sys.modules.items() if v is not None)\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps(loaded())))\n"
        f"sys.argv = ['reconciler', *{list(args)!r}]\n"
        "from reconciler.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    return set(json.loads(out.read_text())), proc


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_version_imports_no_command(tmp_path: Path) -> None:
    modules, proc = modules_after(tmp_path, "--version")
    assert proc.returncode == 0 and "reconciler, version" in proc.stdout
    assert _loaded(modules, HEAVY + ENGINE + ("reconciler.manifest", "jsonschema")) == []


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_imports_neither_engine_nor_http(tmp_path: Path, fmt: str) -> None:
    modules, proc = modules_after(
        tmp_path, "validate", str(ROOT / "examples" / "manifests"), "--format", fmt
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reconciler.manifest" in modules  # it did validate
    assert _loaded(modules, HEAVY + ENGINE) == []


def test_plan_still_loads_its_command_and_help_lists_every_command(tmp_path: Path) -> None:
    modules, proc = modules_after(tmp_path, "plan", "--help")
    assert proc.returncode == 0 and "--rate-limit" in proc.stdout
    assert "reconciler.commands.plan_cmd" in modules
    from click.testing import CliRunner

    from reconciler.cli import cli

    helped = CliRunner().invoke(cli, ["--help"])  # the listing needs no process of its own
    assert helped.exit_code == 0, helped.output
    listed = [line.split()[0] for line in helped.stdout.split("Commands:")[1].splitlines()[1:13]]
    assert listed == sorted(listed) and {"apply", "emulator", "plan", "validate"} <= set(listed)


def test_plan_imports_httpx_without_its_cli_or_trio(tmp_path: Path) -> None:
    """The CLI turns off optional imports it never uses (reconciler/startup.py)."""
    modules, proc = modules_after(tmp_path, "plan", "no-such-dir", "--rate-limit", "free")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "httpx" in modules and "reconciler.client.pacing" in modules
    assert "httpx._main" not in modules and "trio" not in modules
    assert "pygments" not in modules
