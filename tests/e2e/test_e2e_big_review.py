"""End to end at size: the first PR of three 200-image datasets with sidecar captions gets a
markdown plan under 60,000 characters (GitHub refuses comments over 65,536) that keeps every
change row and warning, and an HTML plan with a thumbnail for each of the 600 images.

The 600 files are one picture per dataset made distinct by a PNG text chunk (encoding 600
1024 px PNGs took longer than the plan itself); the plan is made once and shown as HTML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import World, make_world
from manifest_builders import png_variant

from reconciler.render_markdown import MAX_CHARS

CAPTION = (
    "An illustration of a character named Lora, a girl with purple hair, standing on a sunlit "
    "beach with a striped umbrella, waves breaking behind her, picture {n}"
)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def test_600_images_with_captions_fit_a_comment_and_the_page_has_every_thumbnail(
    world: World,
) -> None:
    world.tree.project("lora")
    for d in range(3):
        world.tree.dataset("lora", f"set-{d}", {})
        world.tree.model("lora", f"model-{d}", f"set-{d}")
    world.tree.write()
    for d in range(3):
        folder = world.tree.manifests / "images" / "lora" / f"set-{d}"
        for n in range(1, 201):
            (folder / f"s{d}-{n:02d}.png").write_bytes(png_variant(d, n))
            (folder / f"s{d}-{n:02d}.txt").write_text(CAPTION.format(n=n) + "\n", "utf-8")
    markdown = world.cli("plan", "manifests", "--format", "markdown", "--out", "plan.json")
    assert markdown.exit_code == 0, markdown.output
    md = markdown.stdout
    assert len(md) < MAX_CHARS, len(md)
    assert (
        "**Plan: 7 to create, 0 to update, 0 to clone, 0 to replace (retrain), 0 to delete.**" in md
    )
    rows = [line for line in md.splitlines() if line.startswith("| `+` |")]
    assert len(rows) == 7
    assert "> :warning: **3 models will train (1-3 hours each)**" in md
    assert "this leaves out: " in md and "reconciler show PLANFILE" in md
    page = world.cli("show", "plan.json", "--format", "html").stdout
    assert page.count('<figure class="image added">') == 600
    assert page.count('src="data:image/jpeg;base64,') == 600
    assert len(page) < 12_000_000
