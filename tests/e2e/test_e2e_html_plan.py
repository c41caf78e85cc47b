"""End to end: `plan --format html` is one self-contained page that opens in a real headless
Chromium with every thumbnail loaded, nothing wider than 1280 px, captions before and after;
and a screenshot of it can be taken (the README's picture is made the same way)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import PAGE_FACTS, headless_chromium
from e2e_support import World, make_world
from manifest_builders import standard_tree

DATASET = ("lora", "lora-v1")
OLD = "standing on a beach at sunset"
NEW = "sitting on a red boat at dawn"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def reviewed_world(world: World) -> None:
    """A draft with one image added, one removed, one with new content, one caption edited."""
    world.tree = standard_tree(world.root, images=5)
    world.tree.datasets[DATASET]["spec"]["status"] = "draft"
    world.converge()
    files = world.tree.images[DATASET]
    files["lora-06.png"] = 60
    del files["lora-02.png"]
    files["lora-03.png"] = 333
    world.tree.datasets[DATASET]["spec"]["captions"] = {"lora-01.png": NEW}


def test_html_plan_opens_in_chromium_with_every_thumbnail(world: World, tmp_path: Path) -> None:
    reviewed_world(world)
    planned = world.plan("--format", "html")
    assert planned.exit_code == 0, planned.output
    page = planned.stdout
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", page)  # nothing loads from outside
    html_file = tmp_path / "plan.html"
    html_file.write_text(page, encoding="utf-8")
    with headless_chromium(1280, 900) as browser:
        browser.get(html_file.as_uri())
        facts = browser.execute_script(PAGE_FACTS)
        screenshot = tmp_path / "plan.png"
        assert browser.save_screenshot(str(screenshot))
    assert facts["ready"] == "complete"
    assert facts["images"] == 6  # 01 and 04, 05 kept, 06 added, 03 new content, 02 removed
    assert facts["broken"] == []
    assert facts["scrollWidth"] <= facts["innerWidth"] == 1280, facts["wide"]
    assert facts["scripts"] == 0
    text = facts["text"]
    for words in ("Caption changes (1)", "Added (1)", "New content (1)", "Removed (1)", "Kept (2)"):
        assert words.upper() in text.upper(), words
    assert all(word in text for word in ("standing", "sunset", "sitting", "boat", "dawn"))
    assert "lora-06.png" in text and "lora-02.png" in text
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_html_caption_change_is_a_word_diff_with_sources(world: World) -> None:
    reviewed_world(world)
    page = world.plan("--format", "html").stdout
    figure = page[page.index('<figure class="image captions">') :]
    figure = figure[: figure.index("</figure>")]
    assert "<del>standing</del> <ins>sitting</ins> on a" in figure
    assert "<del>sunset</del> <ins>dawn</ins>" in figure or "<ins>dawn</ins>" in figure
    assert '<span class="tag source manual">manual</span>' in figure
    assert "lora-01.png" in figure


def test_html_escapes_what_users_wrote(world: World, tmp_path: Path) -> None:
    """A manifest caption with markup, and a caption typed in the console with terminal
    escapes (manifests refuse control characters; Bria's answers may still carry them)."""
    reviewed_world(world)
    hostile = '</figure></main><script>alert(1)</script><img src=x onerror="alert(2)">'
    world.tree.datasets[DATASET]["spec"]["captions"] = {"lora-01.png": hostile}
    with world.client() as bria:
        dataset = next(d for d in bria.list_datasets() if d.name == "lora-v1")
        image = next(i for i in bria.list_images(dataset.id) if i.image_name.startswith("lora-04"))
        bria.update_image_caption(dataset.id, image.id, caption="\x1b]8;;https://x\x07hi\x1b[2J")
    page = world.plan("--format", "html").stdout
    assert "<script" not in page and "<img src=x" not in page
    assert "\x1b" not in page and "\x07" not in page
    assert "&lt;/figure&gt;&lt;/main&gt;&lt;script&gt;" in page
    assert "\\x1b]8;;https://x\\x07hi" in page  # the console caption, visibly escaped
    html_file = tmp_path / "plan.html"
    html_file.write_text(page, encoding="utf-8")
    with headless_chromium() as browser:
        browser.get(html_file.as_uri())
        facts = browser.execute_script(PAGE_FACTS)
    assert facts["scripts"] == 0 and facts["broken"] == []
    assert "</figure></main><script>" in facts["text"]  # shown as text
