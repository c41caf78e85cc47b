"""First happy paths of build_plan: fresh create, no-op, clone with model replacement."""

from __future__ import annotations

from planner_cases.builders import desired_state, live_state, step_line

from reconciler.plan import build_plan
from reconciler.plan_file import plan_from_json, plan_to_json

PROJECT = {"name": "lora", "ip_type": "defined_character", "ip_medium": "illustration"}
DATASET = {"project": "lora", "name": "lora-v1", "images": ["a.png", "b.png"]}
MODEL = {"project": "lora", "name": "lora-light", "dataset": "lora-v1", "training_version": "light"}


def test_fresh_create_orders_project_dataset_uploads_completion_model() -> None:
    plan = build_plan(
        desired_state({"projects": [PROJECT], "datasets": [DATASET], "models": [MODEL]}),
        live_state({}),
    )
    assert [step_line(s) for s in plan.steps] == [
        "s001 CreateProject lora {ip_medium=illustration, ip_type=defined_character, "
        "project_name=lora}",
        "s002 CreateDataset lora lora/lora-v1 <- s001",
        "s003 UploadImage lora/lora-v1 a.png <- s002",
        "s004 UploadImage lora/lora-v1 b.png <- s002",
        "s005 UpdateDataset lora/lora-v1 {status=completed} <- s003 s004",
        "s006 CreateModel lora/lora-v1 lora/lora-light light <- s005",
        "s007 StartTraining lora/lora-light <- s006",
    ]
    assert plan_from_json(plan_to_json(plan)) == plan
