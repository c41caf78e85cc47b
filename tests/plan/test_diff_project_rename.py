"""Pure planner: a declared project missing from Bria is recognised as renamed in the console only
when exactly one undeclared project has its ip fields and holds its datasets or models."""

from __future__ import annotations

from reconciler.plan import build_plan
from reconciler.state import (
    DesiredDataset,
    DesiredModel,
    DesiredProject,
    DesiredState,
    LiveDataset,
    LiveModel,
    LiveProject,
    LiveState,
)
from reconciler.steps import CreateProject, UpdateProject

DESIRED = DesiredState(
    projects=(DesiredProject(name="lora", ip_type="icons", ip_medium="illustration"),),
    datasets=(DesiredDataset(project="lora", name="lora-v1", images=(), status="draft"),),
    models=(DesiredModel(project="lora", name="m", dataset="lora-v1", training_version="light"),),
)


def _live_project(pid: int, name: str, dataset: str = "lora-v1", model: str = "m") -> LiveProject:
    model = LiveModel(
        id=pid * 10 + 2,
        name=model,
        dataset_id=pid * 10 + 1,
        training_version="light",
        status="Completed",
    )
    ds = LiveDataset(
        id=pid * 10 + 1,
        project_id=pid,
        name=dataset,
        status="completed",
        caption_prefix=None,
        images=(),
        models=(model,),
    )
    return LiveProject(
        id=pid, project_name=name, ip_type="icons", ip_medium="illustration", datasets=(ds,)
    )


def test_one_candidate_is_renamed_back() -> None:
    plan = build_plan(DESIRED, LiveState((_live_project(1, "Renamed (console)"),)))
    [change] = [c for c in plan.changes if c.address == "project.lora"]
    assert change.action == "update" and change.drift
    assert change.before == {"project_name": "Renamed (console)"}
    assert change.after == {"project_name": "lora"}
    renames = [s for s in plan.steps if isinstance(s, UpdateProject)]
    assert [(s.project.id, s.fields) for s in renames] == [(1, {"project_name": "lora"})]
    assert not [s for s in plan.steps if isinstance(s, CreateProject)]


def test_two_candidates_are_ambiguous_so_the_project_is_created() -> None:
    live = LiveState((_live_project(1, "Copy A"), _live_project(2, "Copy B")))
    plan = build_plan(DESIRED, live)
    assert [type(s) for s in plan.steps][:1] == [CreateProject]
    assert not [s for s in plan.steps if isinstance(s, UpdateProject)]


def test_a_project_with_other_contents_or_fields_is_not_taken() -> None:
    other_contents = _live_project(1, "Other", dataset="something-else", model="other-model")
    other_fields = LiveProject(
        id=2,
        project_name="Photo",
        ip_type="icons",
        ip_medium="photography",
        datasets=_live_project(2, "x").datasets,
    )
    plan = build_plan(DESIRED, LiveState((other_contents, other_fields)))
    assert isinstance(plan.steps[0], CreateProject)
    assert not [s for s in plan.steps if isinstance(s, UpdateProject)]
