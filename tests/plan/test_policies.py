"""Pure: the training budget and the policy gates of a plan (issue 14), on planner cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from planner_cases.builders import desired_state, live_state

from reconciler.budget import Price, Pricing
from reconciler.plan import Plan, SpendOptions, build_plan
from reconciler.policies import PolicyRule, with_overrides
from reconciler.state import LiveDataset, LiveModel, LiveProject, LiveState
from reconciler.training_hours import training_hours

CASES = Path(__file__).parent / "planner_cases"


def case_plan(name: str, spend: SpendOptions | None = None) -> Plan:
    case = json.loads((CASES / f"{name}.json").read_text())
    desired, live = desired_state(case["desired"]), live_state(case["live"])
    return build_plan(desired, live, prune=case["prune"], spend=spend)


@pytest.mark.parametrize(
    ("level", "overrides", "passed", "blocks", "warns"),
    [
        ("advisory", set(), False, False, True),
        ("soft", set(), False, True, False),
        ("soft", {"max-trainings"}, False, False, True),
        ("hard", {"max-trainings"}, False, True, False),
    ],
)
def test_levels_and_overrides(
    level: str, overrides: set[str], passed: bool, blocks: bool, warns: bool
) -> None:
    rules = (PolicyRule("max-trainings", level, 1),)  # type: ignore[arg-type]
    plan = case_plan("p01_fresh_create", SpendOptions(rules=rules, overrides=frozenset(overrides)))
    [result] = plan.policies
    assert (result.passed, result.blocks, result.warns) == (passed, blocks, warns)
    assert result.message == "2 trainings to start, at most 1 allowed"
    assert bool(plan.blocking_policies) == blocks


def test_a_saved_plan_takes_the_overrides_of_the_apply_that_carries_it_out() -> None:
    rules = (PolicyRule("max-trainings", "soft", 1),)
    plan = case_plan("p01_fresh_create", SpendOptions(rules=rules))
    assert plan.blocking_policies
    assert not [r for r in with_overrides(plan.policies, {"max-trainings"}) if r.blocks]


def test_hours_policy_reads_the_budget_s_upper_bound() -> None:
    rules = (PolicyRule("max-training-hours", "hard", 5),)
    [result] = case_plan("p01_fresh_create", SpendOptions(rules=rules)).policies
    assert not result.passed and result.message == "up to 6 h of training, at most 5 h allowed"


def test_lost_and_retrained_completed_models() -> None:
    rules = (
        PolicyRule("no-delete-completed-model", "soft"),
        PolicyRule("no-retrain-completed-model", "soft"),
    )
    lost, retrain = case_plan(
        "t04_prune_after_the_replacement_completed", SpendOptions(rules=rules)
    ).policies
    assert (lost.passed, lost.message) == (False, "1 completed model deleted")
    assert retrain.passed
    _, retrained = case_plan("m12_replaced_old_model_pruned", SpendOptions(rules=rules)).policies
    assert (retrained.passed, retrained.message) == (
        False,
        "1 completed model retrained: 'lora/lora-light'",
    )


def test_pricing_per_hour_and_per_training() -> None:
    pricing = Pricing("EUR", {"light": Price(per_hour=10), "max": Price(per_training=100)})
    budget = case_plan("p01_fresh_create", SpendOptions(pricing=pricing)).budget
    assert (budget.cost_low, budget.cost_high, budget.currency) == (110.0, 130.0, "EUR")
    unpriced = Pricing("EUR", {"light": Price(per_hour=10)})  # no price for max: no cost
    assert case_plan("p01_fresh_create", SpendOptions(pricing=unpriced)).budget.cost_low is None


def test_durations_from_created_and_updated_at_per_training_version() -> None:
    def model(i: int, version: str, created: str, updated: str, status: str) -> LiveModel:
        return LiveModel(i, f"m{i}", 1, version, status, created_at=created, updated_at=updated)

    models = (
        model(1, "light", "2024-05-26T12:00:00Z", "2024-05-26T14:30:00Z", "Completed"),
        model(2, "light", "2024-05-26T12:00:00Z", "2024-05-26T13:00:00Z", "Completed"),
        model(3, "max", "2024-05-26T12:00:00Z", "2024-05-26T15:30:00Z", "Completed"),
        model(4, "max", "2024-05-26T12:00:00Z", "2024-05-26T20:00:00Z", "InProgress"),
    )
    dataset = LiveDataset(1, 1, "d", "completed", None, models=models)
    live = LiveState((LiveProject(1, "p", "icons", "illustration", datasets=(dataset,)),))
    hours = training_hours(live)
    assert {v: (r.low, r.high, r.samples, r.source) for v, r in hours.items()} == {
        "light": (1.0, 2.5, 2, "history"),
        "max": (3.5, 3.5, 1, "history"),
    }


def test_without_history_the_documented_hours_apply_per_generation() -> None:
    from reconciler.training_hours import hours_for

    light = training_hours(LiveState())
    assert (hours_for(light, "light").low, hours_for(light, "light").high) == (1.0, 3.0)
    # the published OpenAPI: Start Training "typically 2-4 hours", its overview "4-6 hours"
    for mode in ("fully_automated", "expert"):
        assert (hours_for(light, mode).low, hours_for(light, mode).high) == (2.0, 6.0)


def test_one_training_spans_the_versions_a_plan_trains() -> None:
    from reconciler.budget import Budget
    from reconciler.training_hours import HoursRange

    assert Budget().one_training() == "1-3 h"  # no training: the reference's range
    assert Budget(durations={"expert": HoursRange(2.0, 6.0, 0)}).one_training() == "2-6 h"
    mixed = {"light": HoursRange(1.0, 3.0, 0), "expert": HoursRange(2.0, 6.0, 0)}
    assert Budget(durations=mixed).one_training() == "1-6 h"
    assert Budget(durations={"max": HoursRange(0.5, 0.5, 4)}).one_training() == "30 min"
