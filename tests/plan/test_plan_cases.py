"""Table-driven planner cases: each tests/plan/planner_cases/*.json holds a desired state, a live
state and the exact plan expected (steps in order with their dependencies, every change with its
action and reason, errors, warnings, drift, before/after). Pure: no server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from planner_cases.builders import desired_state, live_state, step_line

from reconciler.budget import budget_to_json
from reconciler.plan import Plan, SpendOptions, build_plan

CASES = sorted((Path(__file__).parent / "planner_cases").glob("*.json"))


def load_case(path: Path) -> tuple[dict[str, Any], Plan]:
    case = json.loads(path.read_text())
    # "now" (epoch seconds) lets a case say how long a running training has left
    spend = SpendOptions(keep_superseded=case.get("keep_superseded", False), now=case.get("now"))
    plan = build_plan(
        desired_state(case["desired"]), live_state(case["live"]), prune=case["prune"], spend=spend
    )
    return case, plan


def test_there_are_many_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_gives_exactly_the_expected_plan(path: Path) -> None:
    case, plan = load_case(path)
    expect = case["expect"]
    assert [step_line(step) for step in plan.steps] == expect["steps"]
    assert [[c.address, c.action, c.reason] for c in plan.changes] == expect["changes"]
    assert list(plan.errors) == expect.get("errors", [])
    assert list(plan.warnings) == expect.get("warnings", [])
    assert sorted(c.address for c in plan.changes if c.drift) == expect.get("drift", [])
    warnings = {c.address: list(c.warnings) for c in plan.changes if c.warnings}
    assert warnings == expect.get("change_warnings", {})
    before_after = {
        c.address: {"before": c.before, "after": c.after}
        for c in plan.changes
        if c.action != "noop"
    }
    assert before_after == expect.get("before_after", {})
    if "budget" in expect:  # the training budget (issue 14's cases hold it)
        assert budget_to_json(plan.budget) == expect["budget"]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_plan_is_well_formed(path: Path) -> None:
    """Ids s001.. in order; dependencies point backwards; every step belongs to the one change
    whose address it carries; noops have no steps and a reason."""
    _, plan = load_case(path)
    assert [step.id for step in plan.steps] == [f"s{n:03d}" for n in range(1, len(plan.steps) + 1)]
    seen: set[str] = set()
    for step in plan.steps:
        assert set(step.depends_on) <= seen, step
        seen.add(step.id)
    owner = {step_id: c.address for c in plan.changes for step_id in c.step_ids}
    assert sorted(owner) == sorted(seen)
    assert all(owner[step.id] == step.address for step in plan.steps)
    assert len({c.address for c in plan.changes}) == len(plan.changes)
    for change in plan.changes:
        assert change.reason
        assert (change.action == "noop") == (not change.step_ids), change.address
    assert plan.has_changes == bool(plan.steps)
