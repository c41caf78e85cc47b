"""The markdown plan (a PR comment): it always fits GitHub's comment limit, keeping the summary,
every change row and every warning and saying what it leaves out; caption changes show as word
diffs with their sources; and nothing users wrote can inject HTML, close a `<details>` block,
ping someone or carry a terminal escape."""

from __future__ import annotations

import re
from typing import Any

from planner_cases.builders import desired_state, live_state

from reconciler.plan import Plan, build_plan
from reconciler.render import render_text, summary_line
from reconciler.render_markdown import MAX_CHARS, render_markdown

LONG = (
    "An illustration of a character named Lora, a girl with purple hair, standing on a sunlit "
    "beach with a striped umbrella, waves breaking behind her, number {n}"
)


def three_big_datasets(live: bool, edit_captions: bool = False) -> Plan:
    """Three 200-image datasets with manifest captions; new (live=False) or drafts in Bria whose
    every caption the manifest changes (edit_captions)."""
    datasets: list[dict[str, Any]] = []
    live_datasets: list[dict[str, Any]] = []
    models = []
    for d in range(3):
        name = f"set-{d}"
        files = [f"{name}-image-{n:03d}.png" for n in range(200)]
        caption = "edited: " + LONG if edit_captions else LONG
        datasets.append(
            {
                "project": "lora",
                "name": name,
                "status": "draft" if live else "completed",
                "images": [
                    {"file": f, "caption": caption.format(n=n)} for n, f in enumerate(files)
                ],
            }
        )
        live_datasets.append(
            {
                "id": 10 + d,
                "name": name,
                "status": "draft",
                "images": [
                    {"file": f, "caption": LONG.format(n=n), "caption_source": "automatic"}
                    for n, f in enumerate(files)
                ],
            }
        )
        models.append(
            {"project": "lora", "name": f"model-{d}", "dataset": name, "training_version": "max"}
        )
    desired = {"projects": [{"name": "lora"}], "datasets": datasets, "models": models}
    account = {"projects": [{"id": 1, "project_name": "lora", "datasets": live_datasets}]}
    return build_plan(desired_state(desired), live_state(account if live else {}))


def test_a_600_image_plan_fits_a_comment_and_keeps_summary_rows_and_warnings() -> None:
    plan = three_big_datasets(live=False)
    assert len(plan.steps) > 1200  # uploads and captions: the full operation list alone is huge
    md = render_markdown(plan)
    assert len(md) < MAX_CHARS
    lines = md.splitlines()
    assert f"**{summary_line(plan)}**" in lines
    rows = [line for line in lines if line.startswith("| `")]
    assert len(rows) == len([c for c in plan.changes if c.action != "noop"]) == 7
    for warning in plan.warnings:
        assert warning in md
    assert "this leaves out: " in md
    assert "`reconciler show PLANFILE --format html`" in md
    assert md.count("<details>") == md.count("</details>")


def test_600_caption_changes_fit_and_say_how_many_are_shown() -> None:
    plan = three_big_datasets(live=True, edit_captions=True)
    md = render_markdown(plan)
    assert len(md) < MAX_CHARS
    assert md.count("- caption diffs (200):") == 3
    match = re.search(r"caption diffs cut to the first (\d+) per dataset", md)
    assert match, md[-600:]
    shown = int(match.group(1))
    assert md.count(f"  - ... and {200 - shown} more") == 3
    # the text plan keeps every caption whole
    text = render_text(plan)
    assert text.count('+ "edited: An illustration') == 600


def test_a_small_plan_is_whole_with_no_note() -> None:
    plan = three_big_datasets(live=False)
    small = build_plan(
        desired_state(
            {
                "projects": [{"name": "lora"}],
                "datasets": [{"project": "lora", "name": "x", "images": ["a.png", "b.png"]}],
            }
        ),
        live_state({}),
    )
    md = render_markdown(small)
    assert "leaves out" not in md
    assert "<details><summary>API operations, in order (5)</summary>" in md
    assert len(render_markdown(plan)) > len(md)


def caption_edit_plan(old: str, new: str, *, name: str = "a.png") -> Plan:
    desired = {
        "projects": [{"name": "lora"}],
        "datasets": [
            {
                "project": "lora",
                "name": "lora-v1",
                "status": "draft",
                "images": [{"file": name, "caption": new}, "b.png"],
            }
        ],
    }
    account = {
        "projects": [
            {
                "id": 1,
                "project_name": "lora",
                "datasets": [
                    {
                        "id": 10,
                        "name": "lora-v1",
                        "status": "draft",
                        "images": [
                            {"file": name, "caption": old, "caption_source": "automatic"},
                            "b.png",
                        ],
                    }
                ],
            }
        ]
    }
    return build_plan(desired_state(desired), live_state(account))


def test_a_caption_change_is_a_word_diff_with_its_sources() -> None:
    md = render_markdown(
        caption_edit_plan("Lora standing on a beach at sunset", "Lora sitting on a red beach")
    )
    assert (
        "  - `a.png` (automatic → manual): Lora ~~standing~~ **sitting** on a **red** beach "
        "~~at sunset~~"
    ) in md.splitlines()


HOSTILE = (
    "</details><script>alert(1)</script> <img src=x onerror=alert(2)> @octocat "
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[2J | `code` ~~x~~ \u202eevil"
)


def test_user_text_cannot_break_out_of_markdown() -> None:
    md = render_markdown(caption_edit_plan("plain old caption", HOSTILE))
    assert md.count("<details>") == md.count("</details>") > 0
    assert "<script" not in md and "<img" not in md
    assert "@octocat" not in md and "&#64;octocat" in md
    assert "\x1b" not in md and "\x07" not in md and "\u202e" not in md
    assert "\\\\x1b\\]8;;https://evil.example" in md  # shown, harmless
    for line in md.splitlines():
        if line.startswith("| `"):
            assert line.count(" | ") == 3 or "\\|" in line


def test_user_text_cannot_carry_terminal_escapes_into_the_text_plan() -> None:
    text = render_text(caption_edit_plan("plain old caption", HOSTILE))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert '+ "</details><script>' in text  # the text plan shows it verbatim otherwise


def test_thousands_of_changes_still_fit() -> None:
    desired = {
        "projects": [{"name": "lora"}],
        "datasets": [
            {"project": "lora", "name": f"dataset-{n:04d}", "images": [f"i{n}.png"]}
            for n in range(1500)
        ],
    }
    plan = build_plan(desired_state(desired), live_state({}))
    md = render_markdown(plan)
    assert len(md) < MAX_CHARS
    assert md.count("<details>") == md.count("</details>")
    assert f"**{summary_line(plan)}**" in md and "leaves out" in md
