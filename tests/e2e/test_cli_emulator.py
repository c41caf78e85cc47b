"""The README's quickstart, exactly: `apply examples/manifests --emulator --auto-approve`, then
`plan examples/manifests --emulator --detailed-exitcode` exits 0 (training models are not
changes). Run in a copy of the examples, so the embedded emulator's state (`.reconciler/`) is
fresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"


@pytest.fixture
def examples_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples" / "manifests")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_quickstart_apply_then_plan_shows_no_changes(examples_copy: Path) -> None:
    runner = CliRunner()
    env = {"BRIA_API_TOKEN": "", "RECONCILER_EMULATOR_TRAINING_SECONDS": "20", "NO_COLOR": "1"}
    applied = runner.invoke(
        cli, ["apply", "examples/manifests", "--emulator", "--auto-approve"], env=env
    )
    assert applied.exit_code == 0, applied.output
    assert "Apply complete:" in applied.output
    assert (examples_copy / ".reconciler" / "emulator").is_dir()
    planned = runner.invoke(
        cli, ["plan", "examples/manifests", "--emulator", "--detailed-exitcode"], env=env
    )
    assert planned.exit_code == 0, planned.output
    assert "No changes. The account matches the manifests." in planned.output
    assert "training (InProgress)" in planned.output
    again = runner.invoke(
        cli, ["apply", "examples/manifests", "--emulator", "--auto-approve"], env=env
    )
    assert again.exit_code == 0 and "Apply complete" not in again.output


def test_emulator_rejects_a_bad_training_seconds(examples_copy: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["plan", "examples/manifests", "--emulator"],
        env={"RECONCILER_EMULATOR_TRAINING_SECONDS": "soon"},
    )
    assert result.exit_code == 1
    assert "RECONCILER_EMULATOR_TRAINING_SECONDS 'soon' is not a number of seconds" in (
        result.output
    )


def test_emulator_profile_needs_the_emulator(examples_copy: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["plan", "examples/manifests", "--emulator-profile", "current"],
        env={"BRIA_API_TOKEN": "x", "NO_COLOR": "1"},
    )
    assert result.exit_code == 1
    assert "--emulator-profile needs --emulator" in result.output
