"""The text and markdown renderings of plans: exact output for typical plans, shortened image
lists, colours only when asked, errors first, no-ops last, the summary and the loud warnings."""

from __future__ import annotations

import json
from pathlib import Path

from planner_cases.builders import desired_state, live_state

from reconciler.plan import Change, Plan, build_plan
from reconciler.render import render_text, summary_line
from reconciler.render_markdown import render_markdown
from reconciler.steps import describe_step

CASES = Path(__file__).parent / "planner_cases"
PROJECT = {"name": "lora"}


def case_plan(name: str) -> Plan:
    case = json.loads((CASES / f"{name}.json").read_text())
    return build_plan(desired_state(case["desired"]), live_state(case["live"]), prune=case["prune"])


def big_dataset_plan(count: int = 47) -> Plan:
    images = [f"img-{n:02d}.png" for n in range(count)]
    desired = {
        "projects": [PROJECT],
        "datasets": [{"project": "lora", "name": "big", "images": images}],
    }
    return build_plan(desired_state(desired), live_state({}))


def test_text_of_a_draft_edit_is_exact() -> None:
    assert render_text(case_plan("d01_draft_edit")) == (
        "Symbols: + create, ~ update, <= clone (new version), +/- replace, - delete\n"
        "\n"
        "~ dataset.lora/lora-v1 (update)\n"
        "    dataset 'lora-v1' is a draft: add 2 images, replace 1 with new content, remove 1, "
        "change 1 caption, then complete it\n"
        '      status: "draft" -> "completed"\n'
        "      image_count: 4 -> 5\n"
        "      images added (2): d.png, e.png\n"
        "      images changed (1): b.png\n"
        "      images removed (1): gone.png\n"
        "      caption changes (1): c.png\n"
        "      caption c.png (manual -> manual):\n"
        '        - "old caption"\n'
        '        + "new caption"\n'
        "      operations (8): DeleteImage x2, UploadImage x3, SetCaption x2, UpdateDataset\n"
        "\n"
        "Unchanged:\n"
        "  = project.lora: project 'lora' matches the manifest\n"
        "\n"
        "Plan: 0 to create, 1 to update, 0 to clone, 0 to replace (retrain), 0 to delete.\n"
    )


def test_text_with_nothing_to_do_lists_the_noops_and_says_no_changes() -> None:
    assert render_text(case_plan("p02_noop_matches")) == (
        "No changes:\n"
        "  = project.lora: project 'lora' matches the manifest\n"
        "  = dataset.lora/lora-v1: dataset 'lora-v1' matches the manifest (completed)\n"
        "  = model.lora/lora-light: trained (Completed) on dataset 'lora-v1'\n"
        "  = model.lora/lora-max: training (InProgress) on dataset 'lora-v1'; started earlier, "
        "training takes 1-3 hours: not a change\n"
        "\n"
        "No changes. The account matches the manifests.\n"
    )


def test_text_puts_errors_first() -> None:
    lines = render_text(case_plan("p04_ip_type_change_refused")).splitlines()
    assert lines[0] == (
        "Error: project 'lora': ip_type cannot change from defined_character to stylized_scene "
        "in place; set metadata.allowReplace: true to delete the project with its 2 datasets "
        "and 2 models (1 completed model) and recreate it"
    )
    assert lines[-1] == summary_line(case_plan("p04_ip_type_change_refused"))
    assert "No changes. The account matches the manifests." not in lines


def test_text_counts_actions_and_warns_loudly_about_training_and_lost_models() -> None:
    text = render_text(case_plan("d19_clone_with_prune"))
    tail = text.splitlines()[-3:]
    assert tail == [
        "Plan: 0 to create, 0 to update, 1 to clone, 1 to replace (retrain), 1 to delete.",
        "Training budget: 1 to start, 1 to replace, 1 to stop, 0 completed models lost; "
        "1-3 h of training "
        "(light: 1-3 h each, reference)",
        "WARNING: 1 model will train (1-3 hours each)",
    ]
    assert "<= dataset.lora/lora-v1 (clone)\n" in text
    assert "+/- model.lora/lora-light (replace)\n" in text
    assert "- model.lora/stray (delete)\n" in text
    # the last Completed model, and the dataset it is on, stay until the replacement completes
    assert "  = model.lora/lora-light~1: model 'lora-light' is replaced by" in text
    assert "  = dataset.lora/lora-v1~1: dataset 'lora-v1' is superseded by" in text


def test_text_warns_loudly_about_lost_models() -> None:
    text = render_text(case_plan("m08_model_delete"))
    assert "WARNING: completed model 'lora/lora-light' will be deleted (its training is lost)" in (
        text
    )
    assert "1 completed model lost" in text


def test_text_of_a_fresh_create_counts_and_warns() -> None:
    text = render_text(case_plan("p01_fresh_create"))
    assert "+ project.lora (create)\n    project 'lora' does not exist: create it\n" in text
    assert '      ip_name: "Lora"\n' in text
    assert text.endswith(
        "Plan: 4 to create, 0 to update, 0 to clone, 0 to replace (retrain), 0 to delete.\n"
        "Training budget: 2 to start, 0 to replace, 0 to stop, 0 completed models lost; "
        "2-6 h of training "
        "(light: 1-3 h each, reference; max: 1-3 h each, reference)\n"
        "WARNING: 2 models will train (1-3 hours each)\n"
    )


def test_text_marks_drift_and_shows_before_and_after() -> None:
    text = render_text(case_plan("p03_project_update_drift"))
    assert "~ project.lora (update) [drift: changed outside the manifests]\n" in text
    assert '      project_description: "edited in console" -> "Spring campaign"\n' in text
    assert '      ip_name: "Laura" -> "Lora"\n' in text
    assert "ip_description" not in text  # not managed by the manifest


def test_long_image_lists_are_shortened_in_text() -> None:
    text = render_text(big_dataset_plan(47))
    expected = ", ".join(f"img-{n:02d}.png" for n in range(10))
    assert f"      images added (47): {expected}, ... and 37 more\n" in text
    assert "img-10.png" not in text


def test_colour_only_when_asked() -> None:
    plan = case_plan("d19_clone_with_prune")
    plain = render_text(plan, color=False)
    coloured = render_text(plan, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[36m<=\x1b[0m dataset.lora/lora-v1 (clone)" in coloured
    assert "\x1b[31m-\x1b[0m model.lora/stray (delete)" in coloured
    assert "\x1b[1;33mWARNING: 1 model will train (1-3 hours each)\x1b[0m" in coloured


def test_change_warnings_are_shown_under_their_change() -> None:
    text = render_text(case_plan("d10_unrecognised_images"))
    assert (
        "    warning: removes 2 images the reconciler did not upload (their names carry no "
        "content digest): 'IMG_0001.png' and 'a.png'\n"
    ) in text


def test_markdown_has_heading_summary_table_details_and_noops() -> None:
    md = render_markdown(case_plan("m04_training_version_replace"))
    lines = md.splitlines()
    assert lines[0] == "## Reconciler plan"
    assert (
        "**Plan: 0 to create, 0 to update, 0 to clone, 1 to replace (retrain), 0 to delete.**"
        in lines
    )
    assert "> :warning: **1 model will train (1-3 hours each)**" in lines
    assert "| | Address | Action | Reason |" in lines
    assert (
        "| `+/-` | `model.lora/lora-light` | replace | model 'lora-light' must be replaced: "
        "training_version light -> max: trains a new model 'lora-light\\~2' (training takes 1-3 "
        "hours); the old model 'lora-light' (Completed) stays until pruned |"
    ) in lines
    assert "<details><summary>API operations, in order (2)</summary>" in lines
    assert (
        "1. `s001` CreateModel model 'lora/lora-light\\~2' (new) on dataset 'lora/lora-v1' "
        '(id 10): training_version="max"'
    ) in lines
    assert "1. `s002` StartTraining model 'lora/lora-light\\~2' (new) (after s001)" in lines
    assert "<details><summary>Unchanged (2)</summary>" in lines
    assert "- `project.lora`: project 'lora' matches the manifest" in lines


def test_markdown_puts_errors_first_and_keeps_long_lists_whole_in_details() -> None:
    md = render_markdown(case_plan("p04_ip_type_change_refused"))
    assert md.splitlines()[2].startswith("> **Error:** project 'lora': ip_type cannot change")
    big = render_markdown(big_dataset_plan(47))
    line = next(x for x in big.splitlines() if x.startswith("- images added (47): "))
    assert line.count("`img-") == 47
    assert "<details><summary><code>dataset.lora/big</code>: what changes</summary>" in big


def test_markdown_with_nothing_to_do() -> None:
    md = render_markdown(case_plan("p02_noop_matches"))
    assert "**No changes. The account matches the manifests.**" in md
    assert "| | Address |" not in md
    assert "API operations" not in md


def test_markdown_escapes_table_cells() -> None:
    plan = Plan(
        changes=(Change(address="project.x", action="update", reason="a | b\nc"),),
        steps=(),
        fingerprint="0" * 64,
    )
    assert "| `~` | `project.x` | update | a \\| b c |" in render_markdown(plan).splitlines()


def test_every_step_of_the_cases_can_be_described() -> None:
    for path in sorted(CASES.glob("*.json")):
        plan = case_plan(path.stem)
        for step in plan.steps:
            assert describe_step(step).startswith(step.op + " ")
