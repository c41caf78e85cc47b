"""The plan's JSON form, its schema, save/load and the live-state fingerprint."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from planner_cases.builders import desired_state, live_state

import reconciler
from reconciler.plan import build_plan
from reconciler.plan_file import PlanFileError, load_plan, plan_from_json, plan_to_json, save_plan
from reconciler.read_scope import fingerprint
from reconciler.secrets import register_secret
from reconciler.state import LiveImage, LiveState
from reconciler.steps import STEP_TYPES

SCHEMA = json.loads((Path(reconciler.__file__).parent / "schemas" / "plan.schema.json").read_text())
CASES = Path(__file__).parent / "planner_cases"


def case_plan(name: str) -> Any:
    case = json.loads((CASES / f"{name}.json").read_text())
    return build_plan(desired_state(case["desired"]), live_state(case["live"]), prune=case["prune"])


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_describes_every_step_type_with_its_exact_fields() -> None:
    branches = SCHEMA["$defs"]["operation"]["allOf"]
    described = {b["if"]["properties"]["op"]["const"]: b["then"] for b in branches}
    assert sorted(described) == sorted(STEP_TYPES)
    for name, cls in STEP_TYPES.items():
        fields = {f.name for f in dataclasses.fields(cls)} - {"address"}
        assert set(described[name]["properties"]) == fields | {"op"}, name
        assert set(described[name]["required"]) == fields | {"op"}, name


def test_json_of_a_clone_plan() -> None:
    data = plan_to_json(case_plan("d19_clone_with_prune"))
    assert not list(Draft202012Validator(SCHEMA).iter_errors(data))
    assert data["format_version"] == 1
    assert data["prune"] is True
    assert data["summary"] == {"create": 0, "update": 0, "clone": 1, "replace": 1, "delete": 1}
    # the last Completed model stays until its replacement completes: nothing completed is lost
    assert data["budget"] == {
        "trainings_to_start": 1,
        "trainings_to_replace": 1,
        "trainings_to_stop": 1,
        "completed_models_lost": 0,
        "hours": {"low": 1.0, "high": 3.0},
        "durations": {"light": {"low": 1.0, "high": 3.0, "source": "reference", "samples": 0}},
    }
    assert data["policies"] == []
    assert data["errors"] == []
    clone = data["changes"][1]
    assert (clone["address"], clone["action"], clone["drift"]) == (
        "dataset.lora/lora-v1",
        "clone",
        False,
    )
    assert clone["before"] == {
        "version": "lora-v1",
        "status": "completed",
        "caption_prefix": None,
        "image_count": 1,
    }
    assert clone["after"]["images_added"] == ["b.png"]
    assert clone["operations"][0] == {
        "id": "s001",
        "op": "CloneDataset",
        "depends_on": [],
        "source": {
            "kind": "dataset",
            "project": "lora",
            "remote_name": "lora-v1",
            "id": 10,
            "project_id": 1,
        },
        "dataset": {
            "kind": "dataset",
            "project": "lora",
            "remote_name": "lora-v1~2",
            "id": None,
            "project_id": 1,
        },
    }
    upload = clone["operations"][1]
    assert upload["op"] == "UploadImage"
    assert upload["depends_on"] == ["s001"]
    assert upload["image_name"].startswith("b.") and upload["path"] == "/data/b.png"


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_every_case_round_trips_through_a_file(path: Path, tmp_path: Path) -> None:
    plan = case_plan(path.stem)
    target = tmp_path / "plan.json"
    save_plan(plan, target)
    assert load_plan(target) == plan
    assert not list(Draft202012Validator(SCHEMA).iter_errors(json.loads(target.read_text())))
    assert not (tmp_path / ".plan.json.tmp").exists()


def test_plans_hold_no_secret() -> None:
    token = "tok-7f3a9c0e1b2d4f6a"
    register_secret(token)
    plan = case_plan("p01_fresh_create")
    assert token not in json.dumps(plan_to_json(plan))


def valid_json() -> dict[str, Any]:
    return plan_to_json(case_plan("d01_draft_edit"))


def test_other_format_versions_are_refused_with_advice() -> None:
    data = valid_json()
    data["format_version"] = 2
    with pytest.raises(PlanFileError) as err:
        plan_from_json(data)
    assert str(err.value) == (
        "the plan has format_version 2, but this reconciler reads format_version 1: make the "
        "plan again with this version of reconciler"
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d.pop("fingerprint"),
            "the plan is not a valid plan: at the top level: 'fingerprint' is a required property",
        ),
        (
            lambda d: d["changes"][1].update(action="explode"),
            "the plan is not a valid plan: at changes/1/action: 'explode' is not one of "
            "['create', 'update', 'clone', 'replace', 'delete', 'noop']",
        ),
        (
            lambda d: d["changes"][1]["operations"][0].update(op="FormatDisk"),
            "the plan is not a valid plan: at changes/1/operations/0/op: 'FormatDisk' is not "
            "one of ",
        ),
        (
            lambda d: d["changes"][1]["operations"][1].update(image_name=3),
            "the plan is not a valid plan: at changes/1/operations/1/image_name: 3 is not of "
            "type 'string'",
        ),
        (
            lambda d: d["changes"][1]["operations"][1]["dataset"].pop("id"),
            "the plan is not a valid plan: at changes/1/operations/1/dataset: 'id' is a "
            "required property",
        ),
        (
            lambda d: d["changes"][1]["operations"][0].update(depends_on=["s008"]),
            "the plan is not a valid plan: step s001 depends on s008, which does not come "
            "before it",
        ),
        (
            lambda d: d["changes"][1]["operations"][1].update(id="s001"),
            "the plan lists step s001 twice",
        ),
    ],
)
def test_broken_plans_are_refused_with_the_place(mutate: Any, message: str) -> None:
    data = valid_json()
    mutate(data)
    with pytest.raises(PlanFileError) as err:
        plan_from_json(data)
    assert str(err.value).startswith(message)


def test_load_plan_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(PlanFileError) as err:
        load_plan(missing)
    assert str(err.value) == (
        f"plan file '{missing}' does not exist: make one with `reconciler plan --out {missing}`"
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"format_version": 1,\n  "changes": [}')
    with pytest.raises(PlanFileError) as err:
        load_plan(broken)
    assert str(err.value).startswith(f"plan file '{broken}' is not JSON (line 2, column 15: ")
    wrong = tmp_path / "wrong.json"
    wrong.write_text("[]")
    with pytest.raises(PlanFileError) as err:
        load_plan(wrong)
    assert str(err.value) == (
        f"plan file '{wrong}' is not a valid plan: at the top level: [] is not of type 'object'"
    )


def test_save_plan_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "plan.json"
    with pytest.raises(PlanFileError) as err:
        save_plan(case_plan("d01_draft_edit"), target)
    assert str(err.value).startswith(f"plan file '{target}' cannot be written: ")


def test_fingerprint_is_stable_and_sees_every_field() -> None:
    live = live_state(json.loads((CASES / "d01_draft_edit.json").read_text())["live"])
    assert fingerprint(live) == fingerprint(
        live_state(json.loads((CASES / "d01_draft_edit.json").read_text())["live"])
    )
    assert len(fingerprint(live)) == 64
    project = live.projects[0]
    dataset = project.datasets[0]  # type: ignore[index]
    image = dataset.images[0]  # type: ignore[index]
    edits = [
        dataclasses.replace(project, project_description="edited"),
        dataclasses.replace(
            project,
            datasets=(
                dataclasses.replace(
                    dataset,
                    images=(dataclasses.replace(image, caption="other"), *dataset.images[1:]),
                ),
            ),
        ),
        dataclasses.replace(
            project,
            datasets=(dataclasses.replace(dataset, images=(*dataset.images, image)),),
        ),
        dataclasses.replace(
            project, datasets=(dataclasses.replace(dataset, captions_update_status="in_progress"),)
        ),
    ]
    prints = {fingerprint(LiveState((edited,))) for edited in edits}
    assert len(prints) == len(edits)
    assert fingerprint(live) not in prints
    assert isinstance(image, LiveImage)


def test_the_plan_records_the_fingerprint_of_its_live_state() -> None:
    case = json.loads((CASES / "d01_draft_edit.json").read_text())
    live = live_state(case["live"])
    plan = build_plan(desired_state(case["desired"]), live)
    assert plan.fingerprint == fingerprint(live)
    assert plan_to_json(plan)["fingerprint"] == fingerprint(live)


def test_training_finishing_does_not_make_a_saved_plan_stale() -> None:
    """InProgress -> Completed plans alike; Failed or Stopped must make the plan stale."""
    from reconciler.state import LiveDataset, LiveModel, LiveProject

    def live_with(status: str) -> LiveState:
        model = LiveModel(id=7, name="m", dataset_id=2, training_version="light", status=status)
        dataset = LiveDataset(
            id=2, project_id=1, name="d", status="completed", caption_prefix=None, models=(model,)
        )
        project = LiveProject(
            id=1, project_name="p", ip_type="icons", ip_medium="illustration", datasets=(dataset,)
        )
        return LiveState((project,))

    assert fingerprint(live_with("InProgress")) == fingerprint(live_with("Completed"))
    others = {fingerprint(live_with(s)) for s in ("Created", "Failed", "Stopping", "Stopped")}
    assert len(others) == 4
    assert fingerprint(live_with("Completed")) not in others


def test_a_saved_plan_keeps_its_budget_and_policies_so_show_renders_it_identically(
    tmp_path: Path,
) -> None:
    from reconciler.budget import Price, Pricing
    from reconciler.plan import SpendOptions
    from reconciler.plan_formats import render_plan
    from reconciler.policies import PolicyRule

    case = json.loads((CASES / "d05_completed_clone.json").read_text())
    spend = SpendOptions(
        pricing=Pricing("EUR", {"light": Price(per_hour=10), "max": Price(per_training=90)}),
        rules=(
            PolicyRule("max-trainings", "soft", 1),
            PolicyRule("max-training-hours", "advisory", 2),
            PolicyRule("no-retrain-completed-model", "hard"),
            PolicyRule("no-delete-completed-model", "hard"),
        ),
        overrides=frozenset({"max-trainings"}),
    )
    plan = build_plan(
        desired_state(case["desired"]), live_state(case["live"]), prune=False, spend=spend
    )
    assert [(p.name, p.passed, p.overridden, p.blocks) for p in plan.policies] == [
        ("max-trainings", False, True, False),
        ("max-training-hours", False, False, False),
        ("no-retrain-completed-model", False, False, True),
        ("no-delete-completed-model", True, False, False),
    ]
    assert plan.budget.cost_low is not None
    save_plan(plan, tmp_path / "plan.json")
    loaded = load_plan(tmp_path / "plan.json")
    assert loaded == plan
    for fmt in ("text", "markdown", "json", "html"):
        assert render_plan(loaded, fmt, color=False) == render_plan(plan, fmt, color=False), fmt
    data = json.loads((tmp_path / "plan.json").read_text())
    assert not list(Draft202012Validator(SCHEMA).iter_errors(data))
