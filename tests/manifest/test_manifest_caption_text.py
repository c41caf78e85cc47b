"""Captions with control characters are refused where they are written.

A NUL or an escape sequence in a caption would be uploaded to Bria and trained on, and echoed
into terminals and pull-request comments; validate refuses it at the caption's line (manifest
captions and caption_prefix) or at `spec.images` naming the sidecar file and its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_manifest_images import IMAGES_LINE, dataset, load, messages
from test_manifest_support import add_images, make_repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    add_images(tmp_path / "images", 2)
    return tmp_path


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("a\\0b", "\\x00"), ("title \\e]0;pwned\\a", "\\x1b"), ("bell\\x07", "\\x07")],
)
def test_control_character_in_a_manifest_caption(repo: Path, raw: str, shown: str) -> None:
    extra = f'  captions:\n    img-001.png: "{raw}"\n'

    result = load(repo, dataset(extra=extra))

    assert messages(result) == [
        (
            IMAGES_LINE + 2,
            f"caption of 'img-001.png' contains the control character {shown}; "
            "remove it (captions are plain text)",
        )
    ]


def test_control_character_in_a_sidecar(repo: Path) -> None:
    (repo / "images" / "img-002.txt").write_bytes(b"first line\nsecond \x00 line\n")

    result = load(repo, dataset())

    assert messages(result) == [
        (
            IMAGES_LINE,
            "caption file 'img-002.txt' in 'images' contains the control character \\x00 at "
            "line 2; remove it (captions are plain text)",
        )
    ]


def test_control_character_in_the_caption_prefix(repo: Path) -> None:
    extra = '  caption_prefix: "An illustration\\x1b[31m of Lora,"\n'

    result = load(repo, dataset(extra=extra))

    assert messages(result) == [
        (
            IMAGES_LINE + 1,
            "dataset 'lora-v1': caption_prefix contains the control character \\x1b; "
            "remove it (captions are plain text)",
        )
    ]


def test_tabs_and_line_breaks_are_plain_text(repo: Path) -> None:
    (repo / "images" / "img-002.txt").write_bytes(b"first\tline\r\nsecond line\r\n")
    extra = '  captions:\n    img-001.png: "two\\nlines"\n'

    result = load(repo, dataset(extra=extra))

    assert messages(result) == []
    captions = [i.caption for i in result.state.datasets[0].images]
    assert captions == ["two\nlines", "first\tline\r\nsecond line"]
