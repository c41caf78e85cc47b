"""Image file names must survive the remote naming scheme, or validate refuses them.

An image is recognised in Bria by its remote name `<stem>.<digest16><ext>`; a local name that
does not come back out of that name unchanged (an odd extension, a trailing space or dot) would
be deleted and uploaded again on every apply, and a completed dataset cloned and retrained every
time. So validate refuses such names with the line of `spec.images` and the name to use instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_manifest_images import IMAGES_LINE, dataset, load, messages
from test_manifest_support import image_bytes, make_repo

from reconciler.naming import image_name_problem, image_remote_name, parse_image_remote_name

DIGEST = "0123456789abcdef" * 4


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "fmt", "better"),
    [
        ("photo.jpg_large", "JPEG", "photo.jpg_large.jpg"),
        ("shot.v-2", "PNG", "shot.v-2.png"),
        ("scan.verylongext", "PNG", "scan.verylongext.png"),
        ("trailing.png ", "PNG", "trailing.png"),
        ("dotted.png.", "PNG", "dotted.png"),
        (" leading.png", "PNG", "leading.png"),
    ],
)
def test_names_that_do_not_round_trip_are_errors(
    repo: Path, name: str, fmt: str, better: str
) -> None:
    folder = repo / "images"
    folder.mkdir()
    (folder / name).write_bytes(image_bytes(fmt=fmt))
    (folder / "fine.png").write_bytes(image_bytes())

    result = load(repo, dataset())

    errors = messages(result)
    assert len(errors) == 1, errors
    line, message = errors[0]
    assert line == IMAGES_LINE
    assert message.startswith(f"image {_quoted(name)} in 'images' ")
    assert f"rename it to '{better}'" in message
    assert [i.file_name for i in result.state.datasets[0].images] == ["fine.png"]


def _quoted(name: str) -> str:
    return f"'{name}'"


@pytest.mark.parametrize(
    "name",
    ["a.png", "a.b.c.jpeg", "no-extension", "x.0123456789abcdef.png", "weird~name.webp", "é.png"],
)
def test_ordinary_names_are_accepted(name: str) -> None:
    assert image_name_problem(name) is None


@given(st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and "\x00" not in s))
def test_every_accepted_name_round_trips(name: str) -> None:
    if image_name_problem(name) is not None:
        return
    parsed = parse_image_remote_name(image_remote_name(name, DIGEST))
    assert parsed is not None
    assert (parsed.file_name, parsed.digest) == (name, DIGEST[:16])
