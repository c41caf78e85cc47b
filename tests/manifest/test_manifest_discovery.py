"""Other YAML in a repository is not ours: found in a folder, a file without our apiVersion (or
one of our kinds) is skipped and listed in one line, `--strict` makes it an error, and a file that
starts like a manifest but is broken is still an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_manifest_support import PROJECT, located, make_repo, validate, write

from reconciler.cli import cli

COMPOSE = """
services:
  web:
    image: nginx
    ports: ["80:80"]
"""
MKDOCS = "site_name: Docs\nnav:\n  - Home: index.md\n  - Manifests: docs/tailored-gen/v1.md\n"
BROKEN_FOREIGN = "stages:\n  - build\n   bad: [\n"  # invalid YAML, not ours either


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "manifests" / "project.yaml", PROJECT)
    write(tmp_path / "docker-compose.yml", COMPOSE)
    write(tmp_path / "mkdocs.yml", MKDOCS)
    write(tmp_path / "ci" / "dvc.yaml", BROKEN_FOREIGN)
    return tmp_path


def test_foreign_yaml_is_skipped_and_listed_in_one_line(repo: Path) -> None:
    code, report = validate(".")
    assert code == 0, report
    assert report["files"] == ["manifests/project.yaml"]
    assert report["skipped"] == ["ci/dvc.yaml", "docker-compose.yml", "mkdocs.yml"]

    text = CliRunner().invoke(cli, ["validate", "."], env={"NO_COLOR": "1"})
    assert text.exit_code == 0, text.output
    skipped_lines = [line for line in text.output.splitlines() if line.startswith("skipped")]
    assert skipped_lines == [
        "skipped 3 YAML files that are not a manifest (no 'apiVersion: tailored-gen/v1'): "
        "'ci/dvc.yaml', 'docker-compose.yml', 'mkdocs.yml'"
    ]


def test_strict_makes_each_skipped_file_an_error(repo: Path) -> None:
    code, report = validate(".", "--strict")
    assert code == 1
    assert [(f, line) for f, line, _ in located(report)] == [
        ("ci/dvc.yaml", 1),
        ("docker-compose.yml", 1),
        ("mkdocs.yml", 1),
    ]
    assert all("not a manifest" in m and "--strict" in m for _, _, m in located(report))


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param(
            "apiVersion: tailored-gen/v1\nkind: Project\nmetadata: [\n",
            4,
            "invalid YAML",
            id="broken-yaml-after-our-apiversion",
        ),
        pytest.param(
            PROJECT.replace("apiVersion: tailored-gen/v1\n", ""),
            1,
            "document has no apiVersion",
            id="our-kind-without-apiversion",
        ),
        pytest.param(
            PROJECT.replace("/v1", "/v9"), 1, "unknown apiVersion 'tailored-gen/v9'", id="v9"
        ),
    ],
)
def test_a_file_that_starts_like_a_manifest_but_is_broken_is_an_error(
    repo: Path, text: str, line: int, fragment: str
) -> None:
    write(repo / "manifests" / "broken.yaml", text.replace("name: lora", "name: lora2"))
    code, report = validate(".")
    assert code == 1
    errors = located(report)
    assert [(f, ln) for f, ln, _ in errors] == [("manifests/broken.yaml", line)], errors
    assert fragment in errors[0][2]
    assert "manifests/broken.yaml" not in report["skipped"]


def test_a_folder_holding_only_foreign_yaml_is_an_error(repo: Path) -> None:
    code, report = validate("ci")
    assert code == 1
    assert located(report) == [
        (
            "ci",
            1,
            "no manifests found under 'ci': none of its 1 YAML files has "
            "'apiVersion: tailored-gen/v1'",
        )
    ]


def test_plan_skips_foreign_yaml_and_says_so_on_stderr(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", ".", "--emulator", "--detailed-exitcode"])
    assert result.exit_code == 2, result.output  # the project is to be created
    assert "skipped 3 YAML files that are not a manifest" in result.stderr
    assert "+ project.lora" in result.stdout
    strict = CliRunner().invoke(cli, ["plan", ".", "--emulator", "--strict"])
    assert strict.exit_code == 1
    assert "docker-compose.yml:1:1: error: not a manifest" in strict.stderr
