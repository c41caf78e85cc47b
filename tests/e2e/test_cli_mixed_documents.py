"""A manifest file that mixes our documents with foreign ones (a Kubernetes ConfigMap first, a
compose file last), through the real CLI and the embedded emulator: validate, plan and apply
read only our documents and list the others in one line, the account converges (the next plan
is empty), and `--strict` refuses the foreign documents at their lines before any call."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

MIXED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: tailored-gen/v1
kind: Project
metadata:
  name: mixed
spec:
  ip_type: defined_character
  ip_medium: illustration
  ip_name: Mixed
  ip_description: a character beside other YAML
---
x-common: &common
  image: nginx
services:
  web:
    <<: *common
"""
SKIPPED = (
    "skipped 2 YAML documents that are not a manifest (no 'apiVersion: tailored-gen/v1'): "
    "'deploy/all.yaml (document 1 of 3)', 'deploy/all.yaml (document 3 of 3)'"
)
ENV = {"BRIA_API_TOKEN": "", "NO_COLOR": "1"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "all.yaml").write_text(MIXED, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_mixed_file_validates_plans_and_applies_only_our_documents(repo: Path) -> None:
    runner = CliRunner()
    validated = runner.invoke(cli, ["validate", "."], env=ENV)
    assert validated.exit_code == 0, validated.output
    assert SKIPPED in validated.output

    planned = runner.invoke(cli, ["plan", ".", "--emulator", "--detailed-exitcode"], env=ENV)
    assert planned.exit_code == 2, planned.output
    assert SKIPPED in planned.stderr
    assert "+ project.mixed" in planned.stdout
    assert "settings" not in planned.stdout and "nginx" not in planned.stdout

    applied = runner.invoke(cli, ["apply", ".", "--emulator", "--auto-approve"], env=ENV)
    assert applied.exit_code == 0, applied.output
    assert "Apply complete:" in applied.output

    again = runner.invoke(cli, ["plan", ".", "--emulator", "--detailed-exitcode"], env=ENV)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout


def test_strict_refuses_the_foreign_documents_at_their_lines(repo: Path) -> None:
    runner = CliRunner()
    for command in (
        ["validate", "."],
        ["plan", ".", "--emulator"],
        ["apply", ".", "--emulator", "--auto-approve"],
    ):
        result = runner.invoke(cli, [*command, "--strict"], env=ENV)
        assert result.exit_code == 1, result.output
        assert "deploy/all.yaml:1:1: error: document 1 of 3 is not a manifest" in result.output
        assert "deploy/all.yaml:18:1: error: document 3 of 3 is not a manifest" in result.output
    planned = runner.invoke(cli, ["plan", ".", "--emulator", "--detailed-exitcode"], env=ENV)
    assert planned.exit_code == 2, planned.output  # the strict apply created nothing
    assert "+ project.mixed" in planned.stdout
