"""The HTML plan without a browser: warnings before the changes, a figure per image in its group,
placeholders for images without a local file, thumbnails that are small and the same each time,
and user text escaped. (tests/e2e/test_e2e_html_plan.py opens it in headless Chromium.)"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from PIL import Image
from planner_cases.builders import desired_state, live_state

from reconciler.plan import Plan, SpendOptions, build_plan
from reconciler.policies import PolicyRule
from reconciler.render_html import render_html
from reconciler.thumbnails import SIZE, placeholder, thumbnail, thumbnails

PLACEHOLDERS = {"removed": "data:removed", "missing": "data:missing"}


def edit_plan() -> Plan:
    """A draft: a.png kept with a new caption, b.png kept, c.png new content, d.png added,
    gone.png removed."""
    images = [
        {"file": "a.png", "caption": "Lora <b>sitting</b> on a red beach"},
        "b.png",
        {"file": "c.png", "content": "v2"},
        "d.png",
    ]
    desired = desired_state(
        {
            "projects": [{"name": "lora"}],
            "datasets": [{"project": "lora", "name": "v1", "status": "draft", "images": images}],
        }
    )
    account = {
        "projects": [
            {
                "id": 1,
                "project_name": "lora",
                "datasets": [
                    {
                        "id": 10,
                        "name": "v1",
                        "status": "draft",
                        "images": [
                            {"file": "a.png", "caption": "Lora standing on a beach"},
                            "b.png",
                            "c.png",
                            "gone.png",
                        ],
                    }
                ],
            }
        ]
    }
    return build_plan(desired, live_state(account))


def test_groups_captions_and_placeholders() -> None:
    plan = edit_plan()
    thumbs = {"/data/a.png": "data:a", "/data/d.png": "data:d"}
    page = render_html(plan, thumbs, PLACEHOLDERS)
    for group, count in (
        ("captions", 1),
        ("added", 1),
        ("changed", 1),
        ("removed", 1),
        ("kept", 1),
    ):
        assert page.count(f'<figure class="image {group}">') == count, group
    assert '<img src="data:a" alt="a.png"' in page
    assert '<img src="data:d" alt="d.png"' in page
    assert '<img src="data:removed" alt="gone.png"' in page
    assert '<img src="data:missing" alt="b.png"' in page  # no local file where the plan says
    assert "local file not found" in page
    assert (
        "<del>standing</del> <ins>&lt;b&gt;sitting&lt;/b&gt;</ins> on a <ins>red</ins> beach"
        in page
    )
    assert "<b>sitting</b>" not in page
    assert "Bria writes the caption after upload" in page  # d.png: automatic caption


def test_warnings_and_training_come_before_the_changes() -> None:
    plan = build_plan(
        desired_state(
            {
                "projects": [{"name": "lora"}],
                "datasets": [{"project": "lora", "name": "v1", "images": ["a.png"]}],
                "models": [
                    {"project": "lora", "name": "m", "dataset": "v1", "training_version": "max"}
                ],
            }
        ),
        live_state({}),
    )
    page = render_html(plan, {}, PLACEHOLDERS)
    assert page.index('class="alert warn"') < page.index('class="training"')
    assert page.index('class="training"') < page.index('<section class="change')
    assert "<td>max</td>" in page and "1 model will train (1-3 hours each)" in page
    assert 'http-equiv="Content-Security-Policy"' in page and "<script" not in page


def test_thumbnails_are_small_jpegs_made_the_same_each_time(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGBA", (1200, 800), (255, 0, 0, 0)).save(path)  # transparent: laid on white
    first, second = thumbnail(str(path)), thumbnail(str(path))
    assert first is not None and first == second
    assert first.startswith("data:image/jpeg;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(first.split(",", 1)[1])))
    assert image.size == (SIZE, round(SIZE * 800 / 1200))
    assert image.getpixel((5, 5)) > (240, 240, 240)  # type: ignore[operator]
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert thumbnails([str(path), str(tmp_path / "bad.png"), str(tmp_path / "none.png")]) == {
        str(path): first,
        str(tmp_path / "bad.png"): None,
        str(tmp_path / "none.png"): None,
    }
    assert placeholder("removed") != placeholder("missing")


def test_training_section_has_the_budget_line_and_failed_policies_come_first() -> None:
    case = json.loads((Path(__file__).parent / "planner_cases/p01_fresh_create.json").read_text())
    rules = (PolicyRule("max-trainings", "soft", 1),)
    plan = build_plan(
        desired_state(case["desired"]), live_state(case["live"]), spend=SpendOptions(rules=rules)
    )
    page = render_html(plan, {}, PLACEHOLDERS)
    assert f'<p class="budget">{plan.budget.line()}</p>' in page
    assert "<dt>" not in page  # not a dump of the budget's JSON
    policy = page.index('<p class="alert error">Policy max-trainings (soft): FAILED')
    assert policy < page.index('<section class="training">')
    # a plan that trains nothing has no training section
    assert '<section class="training">' not in render_html(edit_plan(), {}, PLACEHOLDERS)
