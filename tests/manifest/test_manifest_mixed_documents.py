"""Skipping is per document: in a file holding a document of ours, a document that is not ours
(no `apiVersion: tailored-gen/...`, none of our kinds at the top level: a ConfigMap, a compose
file) is skipped and listed as `file (document N of M)`, `--strict` makes each an error at its
line, and a document that starts like ours but is broken is still an error at its line. A file
with nothing of ours behaves as before: skipped whole when found in a folder, every document
checked when named."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_manifest_support import PROJECT, located, make_repo, validate, write

from reconciler.cli import cli

CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
"""
COMPOSE = """\
x-common: &common
  image: nginx
services:
  web:
    <<: *common
    ports: ["80:80"]
"""
MIXED = f"{CONFIG_MAP}---\n{PROJECT}---\n{COMPOSE}"  # the Project is document 2, line 8


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_foreign_first_and_last_documents_are_skipped_and_listed(repo: Path) -> None:
    write(repo / "m" / "x.yaml", MIXED)
    code, report = validate(".")
    assert code == 0, report
    assert report["files"] == ["m/x.yaml"]
    assert report["skipped"] == ["m/x.yaml (document 1 of 3)", "m/x.yaml (document 3 of 3)"]

    text = CliRunner().invoke(cli, ["validate", "."], env={"NO_COLOR": "1"})
    assert text.exit_code == 0, text.output
    assert [line for line in text.output.splitlines() if line.startswith("skipped")] == [
        "skipped 2 YAML documents that are not a manifest (no 'apiVersion: tailored-gen/v1'): "
        "'m/x.yaml (document 1 of 3)', 'm/x.yaml (document 3 of 3)'"
    ]
    assert "1 project, 0 datasets, 0 models" in text.output


def test_a_file_named_on_the_command_line_skips_its_foreign_documents_too(repo: Path) -> None:
    write(repo / "m" / "x.yaml", MIXED)
    code, report = validate("m/x.yaml")
    assert code == 0, report
    assert report["skipped"] == ["m/x.yaml (document 1 of 3)", "m/x.yaml (document 3 of 3)"]


def test_skipped_files_and_documents_share_the_one_line(repo: Path) -> None:
    write(repo / "m" / "x.yaml", f"{PROJECT}---\n{CONFIG_MAP}")
    write(repo / "docker-compose.yml", COMPOSE)
    text = CliRunner().invoke(cli, ["validate", "."], env={"NO_COLOR": "1"})
    assert text.exit_code == 0, text.output
    assert [line for line in text.output.splitlines() if line.startswith("skipped")] == [
        "skipped 1 YAML file and 1 YAML document that are not a manifest "
        "(no 'apiVersion: tailored-gen/v1'): 'docker-compose.yml', 'm/x.yaml (document 2 of 2)'"
    ]


def test_strict_refuses_each_skipped_document_at_its_line(repo: Path) -> None:
    write(repo / "m" / "x.yaml", MIXED)
    code, report = validate(".", "--strict")
    assert code == 1
    errors = located(report)
    assert [(f, line) for f, line, _ in errors] == [("m/x.yaml", 1), ("m/x.yaml", 18)], errors
    assert errors[0][2].startswith("document 1 of 3 is not a manifest")
    assert errors[1][2].startswith("document 3 of 3 is not a manifest")
    assert all("--strict" in m for _, _, m in errors)
    assert report["skipped"] == []


@pytest.mark.parametrize(
    ("broken", "line", "fragment"),
    [
        pytest.param(
            PROJECT.replace("/v1", "/v9"),
            8,
            "unknown apiVersion 'tailored-gen/v9'",
            id="tailored-gen-v9",
        ),
        pytest.param(
            PROJECT.replace("kind: Project\n", ""),
            8,
            "document has no kind",
            id="tailored-gen-without-kind",
        ),
        pytest.param(
            PROJECT.replace("apiVersion: tailored-gen/v1\n", ""),
            8,
            "document has no apiVersion",
            id="our-kind-without-apiversion",
        ),
        pytest.param(
            PROJECT.replace("  ip_name: Lora\n", "  ip_name: *lora\n"),
            15,
            "YAML aliases ('*name') are not allowed",
            id="alias-in-our-document",
        ),
        pytest.param(PROJECT + "  tags: [\n", 18, "invalid YAML", id="broken-yaml-in-our-document"),
    ],
)
def test_a_broken_document_of_ours_in_a_mixed_file_is_an_error_at_its_line(
    repo: Path, broken: str, line: int, fragment: str
) -> None:
    write(repo / "m" / "x.yaml", f"{CONFIG_MAP}---\n{broken}")
    code, report = validate(".")
    assert code == 1
    errors = located(report)
    assert [(f, ln) for f, ln, _ in errors] == [("m/x.yaml", line)], errors
    assert fragment in errors[0][2]


def test_errors_in_later_documents_keep_their_lines(repo: Path) -> None:
    dataset = (
        "apiVersion: tailored-gen/v1\nkind: Dataset\nmetadata:\n  name: set\n  project: lora\n"
        "spec:\n  bogus: 1\n"
    )
    write(repo / "m" / "x.yaml", f"{PROJECT}---\n{COMPOSE}---\n{CONFIG_MAP}---\n{dataset}")
    code, report = validate(".")
    assert code == 1
    # PROJECT 9 lines and ---, COMPOSE 6 and ---, CONFIG_MAP 6 and ---: the Dataset starts at 25
    bogus = [(f, ln) for f, ln, m in located(report) if "unknown field 'bogus'" in m]
    assert bogus == [("m/x.yaml", 31)], located(report)
    assert report["skipped"] == ["m/x.yaml (document 2 of 4)", "m/x.yaml (document 3 of 4)"]


def test_a_file_with_nothing_of_ours_behaves_as_before(repo: Path) -> None:
    write(repo / "m" / "project.yaml", PROJECT)
    write(repo / "m" / "k8s.yaml", f"{CONFIG_MAP}---\n{COMPOSE}")
    code, report = validate(".")
    assert code == 0, report
    assert report["skipped"] == ["m/k8s.yaml"]  # found in a folder: skipped whole, as a file

    code, report = validate("m/k8s.yaml")  # named: read, every document checked
    assert code == 1
    messages = [(ln, m.split(";")[0]) for _, ln, m in located(report)]
    assert (1, "unknown apiVersion 'v1'") in messages
    assert (12, "YAML aliases ('*name') are not allowed in manifests") in messages
    assert report["skipped"] == []


def test_plan_reads_only_our_documents_and_strict_refuses_the_others(repo: Path) -> None:
    write(repo / "m" / "x.yaml", MIXED)
    result = CliRunner().invoke(cli, ["plan", ".", "--emulator", "--detailed-exitcode"])
    assert result.exit_code == 2, result.output
    assert "+ project.lora" in result.stdout
    assert (
        "skipped 2 YAML documents that are not a manifest (no 'apiVersion: tailored-gen/v1'): "
        "'m/x.yaml (document 1 of 3)', 'm/x.yaml (document 3 of 3)'"
    ) in result.stderr
    strict = CliRunner().invoke(cli, ["plan", ".", "--emulator", "--strict"])
    assert strict.exit_code == 1
    assert "m/x.yaml:1:1: error: document 1 of 3 is not a manifest" in strict.stderr
    assert "m/x.yaml:18:1: error: document 3 of 3 is not a manifest" in strict.stderr
