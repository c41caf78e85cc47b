"""Properties of the planner over random desired and live states (hypothesis):

* a live state built to match a desired state gives a plan without steps;
* planning, carrying the steps out in any order a parallel apply could pick (a strict pure
  simulator of the API's rules), then planning again gives no steps: the plan converges;
* manifest order does not change the plan; the same inputs give the identical plan;
* plan_from_json(plan_to_json(plan)) == plan, through real JSON text, and the JSON validates
  against reconciler/schemas/plan.schema.json.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from planner_cases.simulate import DEFAULT_PREFIX, auto_caption, simulate
from planner_cases.strategies import desired_states, live_states, scenarios

import reconciler
from reconciler.naming import image_remote_name
from reconciler.plan import build_plan
from reconciler.plan_file import plan_from_json, plan_to_json
from reconciler.render import render_text
from reconciler.state import (
    DesiredState,
    LiveDataset,
    LiveImage,
    LiveModel,
    LiveProject,
    LiveState,
)

PLAN_SCHEMA_PATH = Path(reconciler.__file__).parent / "schemas" / "plan.schema.json"
# No "explain" phase: it only annotates failures, and trips over variable-length draws.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]
# Examples of one plan are cheap (milliseconds): twice the suite's share (tests/conftest.py).
FAST = settings(max_examples=2 * settings.default.max_examples, phases=PHASES)


def live_from(desired: DesiredState) -> LiveState:
    """The account as a finished apply leaves it (models still training or trained)."""
    ids = iter(range(1, 100_000))
    projects = []
    for project in desired.projects:
        if project.delete:
            continue
        project_id = next(ids)
        datasets = []
        for dataset in desired.datasets:
            if dataset.project != project.name or dataset.delete:
                continue
            dataset_id = next(ids)
            prefix = dataset.caption_prefix or DEFAULT_PREFIX
            images = []
            for image in dataset.images:
                name = image_remote_name(image.file_name, image.digest)
                if image.caption is None:
                    images.append(
                        LiveImage(next(ids), name, auto_caption(prefix, name), "automatic")
                    )
                else:
                    images.append(LiveImage(next(ids), name, image.caption, "manual"))
            models = tuple(
                LiveModel(
                    next(ids),
                    model.name,
                    dataset_id,
                    model.training_version,
                    "Completed" if len(model.name) % 2 else "InProgress",
                    model.description,
                )
                for model in desired.models
                if model.project == project.name
                and model.dataset == dataset.name
                and not model.delete
                and dataset.status == "completed"
            )
            datasets.append(
                LiveDataset(
                    dataset_id,
                    project_id,
                    dataset.name,
                    dataset.status,
                    prefix,
                    images=tuple(images),
                    models=models,
                )
            )
        projects.append(
            LiveProject(
                project_id,
                project.name,
                project.ip_type,
                project.ip_medium,
                project.description,
                project.ip_name,
                project.ip_description,
                datasets=tuple(datasets),
            )
        )
    return LiveState(tuple(projects))


@FAST
@given(desired_states())
def test_a_live_state_matching_the_manifests_needs_no_steps(desired: DesiredState) -> None:
    plan = build_plan(desired, live_from(desired), prune=True)
    assert not plan.errors
    assert plan.steps == (), render_text(plan)
    assert {c.action for c in plan.changes} <= {"noop"}


@FAST
@given(scenarios(), st.booleans(), st.randoms(use_true_random=False))
def test_plan_then_apply_then_plan_again_has_no_steps(
    scenario: tuple[DesiredState, LiveState], prune: bool, rng: random.Random
) -> None:
    desired, live = scenario
    plan = build_plan(desired, live, prune=prune)
    if plan.errors:  # refused changes (ip_type without allowReplace) are not carried out
        return
    after = simulate(live, plan, rng)
    again = build_plan(desired, after, prune=prune)
    assert not again.errors
    assert again.steps == (), render_text(plan) + "\n---- then ----\n" + render_text(again)


@FAST
@given(scenarios(), st.booleans(), st.randoms(use_true_random=False))
def test_manifest_order_does_not_change_the_plan(
    scenario: tuple[DesiredState, LiveState], prune: bool, rng: random.Random
) -> None:
    desired, live = scenario

    def shuffled(items: tuple) -> tuple:  # type: ignore[type-arg]
        items = list(items)
        rng.shuffle(items)
        return tuple(items)

    reordered = DesiredState(
        shuffled(desired.projects),
        tuple(replace(d, images=shuffled(d.images)) for d in shuffled(desired.datasets)),
        shuffled(desired.models),
    )
    assert build_plan(reordered, live, prune=prune) == build_plan(desired, live, prune=prune)


@FAST
@given(scenarios(), st.booleans())
def test_json_round_trip_is_exact_and_valid(
    scenario: tuple[DesiredState, LiveState], prune: bool
) -> None:
    desired, live = scenario
    plan = build_plan(desired, live, prune=prune)
    data = json.loads(json.dumps(plan_to_json(plan)))
    validator = Draft202012Validator(json.loads(PLAN_SCHEMA_PATH.read_text()))
    assert not list(validator.iter_errors(data))
    assert plan_from_json(data) == plan


@pytest.mark.slow
@settings(phases=PHASES)  # the suite's share of examples, each a chain of up to five plans
@given(
    live_states(),
    st.lists(st.tuples(desired_states(), st.booleans()), min_size=2, max_size=5),
    st.randoms(use_true_random=False),
)
def test_convergence_over_chains_of_manifest_edits(
    live: LiveState, rounds: list[tuple[DesiredState, bool]], rng: random.Random
) -> None:
    """Round after round, a new manifest against what the previous apply left behind."""
    for desired, prune in rounds:
        plan = build_plan(desired, live, prune=prune)
        if plan.errors:
            continue
        live = simulate(live, plan, rng)
        again = build_plan(desired, live, prune=prune)
        assert again.steps == (), render_text(plan) + "\n---- then ----\n" + render_text(again)
