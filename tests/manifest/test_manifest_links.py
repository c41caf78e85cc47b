"""Symbolic links in the manifest tree: followed inside the repository, refused (located) outside.

A manifest file that is a link out of the repository is never read, so no error can quote what
it points to (a one-line secret file on a CI runner); a linked folder inside the repository is
read like any other (skipping it silently would let `--prune` delete what it declares), and one
leading outside is a located error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_manifest_support import PROJECT, located, make_repo, validate, write

from reconciler.manifest import load_manifests

SECRET = "ghp_SUPERSECRETTOKEN1234567890"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(tmp_path / "repo")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "runner"
    folder.mkdir()
    (folder / "token.yaml").write_text(f"{SECRET}\n")
    write(folder / "other" / "p.yaml", PROJECT.replace("name: lora", "name: elsewhere"))
    return folder


@pytest.mark.parametrize("given", [".", "m.yaml"], ids=["walked", "named"])
def test_a_manifest_linking_out_of_the_repository_is_refused_unread(
    repo: Path, outside: Path, given: str
) -> None:
    (repo / "m.yaml").symlink_to(outside / "token.yaml")

    code, report = validate(given)

    assert code == 1
    assert located(report) == [
        (
            "m.yaml",
            1,
            f"manifest 'm.yaml' is a link to '{outside / 'token.yaml'}', outside the repository "
            f"'{repo}'; keep manifests inside the repository",
        )
    ]
    assert SECRET not in str(report)


def test_a_manifest_linking_inside_the_repository_is_read(repo: Path) -> None:
    write(repo / "real" / "p.yaml", PROJECT)
    (repo / "m.yaml").symlink_to(repo / "real" / "p.yaml")

    result = load_manifests(["m.yaml"])

    assert result.errors == ()
    assert [p.name for p in result.state.projects] == ["lora"]


def test_a_linked_folder_inside_the_repository_is_followed(repo: Path) -> None:
    write(repo / "shared" / "p.yaml", PROJECT)
    (repo / "manifests").mkdir()
    (repo / "manifests" / "shared").symlink_to(repo / "shared")

    result = load_manifests(["manifests"])

    assert result.errors == ()
    assert [p.name for p in result.state.projects] == ["lora"]
    assert result.files == ("manifests/shared/p.yaml",)


def test_a_linked_folder_outside_the_repository_is_a_located_error(
    repo: Path, outside: Path
) -> None:
    write(repo / "manifests" / "p.yaml", PROJECT)
    (repo / "manifests" / "other").symlink_to(outside / "other")

    code, report = validate("manifests")

    assert code == 1
    assert located(report) == [
        (
            "manifests/other",
            1,
            f"folder 'manifests/other' is a link to '{outside / 'other'}', outside the "
            f"repository '{repo}'; keep manifests inside the repository (or copy them in)",
        )
    ]


def test_a_folder_link_loop_is_read_once(repo: Path) -> None:
    write(repo / "manifests" / "p.yaml", PROJECT)
    (repo / "manifests" / "again").symlink_to(repo / "manifests")
    (repo / "manifests" / "dangling").symlink_to(repo / "nowhere")

    result = load_manifests(["manifests"])

    assert result.errors == ()
    assert result.files == ("manifests/p.yaml",)
