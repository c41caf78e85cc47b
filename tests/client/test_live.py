"""Reading the account: the fewest calls, the right shapes, rename candidates only when needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import TOKEN, running_emulator
from manifest_builders import png_bytes

from reconciler.client import BriaClient
from reconciler.live import read_live_state
from reconciler.read_scope import scope_from_desired
from reconciler.state import DesiredDataset, DesiredModel, DesiredProject, DesiredState


@pytest.fixture
def bria(tmp_path: Path) -> Iterator[BriaClient]:
    with running_emulator(tmp_path / "emu", training_seconds=60) as server:
        with BriaClient(server.url, TOKEN) as client:
            yield client


def seed_account(client: BriaClient) -> dict[str, int]:
    """lora: lora-v1 (completed, 2 images, 2 models, one deleted), lora-v1~2 (draft, 1 image),
    old-stuff (undeclared); other: an undeclared project with one dataset."""
    lora = client.create_project(project_name="lora", ip_type="icons", ip_medium="illustration")
    v1 = client.create_dataset(project_id=lora.id, name="lora-v1")
    for seed in (1, 2):
        client.upload_image(v1.id, file=png_bytes(seed), image_name=f"a-{seed}.png")
    client.update_dataset(v1.id, status="completed")
    kept = client.create_model(name="lora-light", dataset_id=v1.id, training_version="light")
    gone = client.create_model(name="lora-old", dataset_id=v1.id, training_version="light")
    client.delete_model(gone.id)
    v2 = client.clone_dataset(v1.id, name="lora-v1~2")
    client.delete_image(v2.id, client.list_images(v2.id)[0].id)
    old = client.create_dataset(project_id=lora.id, name="old-stuff")
    client.upload_image(old.id, file=png_bytes(3), image_name="b.png")
    other = client.create_project(project_name="other", ip_type="icons", ip_medium="illustration")
    client.create_dataset(project_id=other.id, name="x")
    return {"lora": lora.id, "v1": v1.id, "v2": v2.id, "old": old.id, "model": kept.id}


def desired(*datasets: str, models: tuple[str, ...] = ()) -> DesiredState:
    return DesiredState(
        projects=(DesiredProject("lora", "icons", "illustration"),),
        datasets=tuple(DesiredDataset("lora", name, ()) for name in datasets),
        models=tuple(DesiredModel("lora", name, datasets[0], "light") for name in models),
    )


def routes(client: BriaClient) -> dict[str, int]:
    return dict(client.stats.snapshot()["by_route"])


def test_no_change_read_costs_one_call_per_level(bria: BriaClient) -> None:
    ids = seed_account(bria)
    before = routes(bria)
    live = read_live_state(bria, desired("lora-v1", models=("lora-light",)))
    calls = {k: v - before.get(k, 0) for k, v in routes(bria).items() if v != before.get(k, 0)}
    assert calls == {
        "GET /tailored-gen/projects": 1,
        "GET /tailored-gen/projects/{project_id}/datasets": 1,
        "GET /tailored-gen/datasets/{dataset_id}/images": 1,
    }
    lora, other = live.projects
    assert (lora.project_name, other.project_name, other.datasets) == ("lora", "other", None)
    assert lora.datasets is not None
    by_name = {d.name: d for d in lora.datasets}
    assert set(by_name) == {"lora-v1", "lora-v1~2", "old-stuff"}
    # only the current version (~2) of the declared dataset has its images read
    assert by_name["lora-v1"].images is None and by_name["old-stuff"].images is None
    current = by_name["lora-v1~2"]
    assert current.id == ids["v2"] and current.status == "draft"
    assert [i.image_name for i in current.images or ()] == ["a-2.png"]
    # the deleted model is dropped; the other is there with normalised fields
    assert [(m.name, m.status, m.training_version) for m in by_name["lora-v1"].models] == [
        ("lora-light", "Created", "light")
    ]


def test_rename_candidates_are_read_only_when_a_declared_dataset_is_missing(
    bria: BriaClient,
) -> None:
    seed_account(bria)
    live = read_live_state(bria, desired("lora-v1", "renamed-one"))
    datasets = {d.name: d for d in live.projects[0].datasets or ()}
    assert [i.image_name for i in datasets["old-stuff"].images or ()] == ["b.png"]
    assert datasets["lora-v1"].images is None  # superseded version: still not needed


def test_undeclared_and_deleted_projects(bria: BriaClient) -> None:
    seed_account(bria)
    state = DesiredState(projects=(DesiredProject("lora", "icons", "illustration", delete=True),))
    scope = scope_from_desired(state)
    assert scope.projects == {"lora"} and scope.dataset_bases == {"lora": frozenset()}
    live = read_live_state(bria, state)
    lora = live.projects[0]
    assert lora.datasets is not None and len(lora.datasets) == 3
    assert all(d.images is None for d in lora.datasets)


def test_empty_account(bria: BriaClient) -> None:
    live = read_live_state(bria, desired("lora-v1"))
    assert live.projects == ()
    assert bria.stats.requests == 1


def test_the_version_read_is_the_one_the_planner_compares(bria: BriaClient) -> None:
    """`lora-v1` and `lora-v1~1` are both version 1 (a console copy): the later one (highest id)
    is the current version for the planner, so it is the one whose images are read."""
    from reconciler.plan import build_plan

    lora = bria.create_project(project_name="lora", ip_type="icons", ip_medium="illustration")
    first = bria.create_dataset(project_id=lora.id, name="lora-v1~1")
    second = bria.create_dataset(project_id=lora.id, name="lora-v1")
    bria.upload_image(second.id, file=png_bytes(4), image_name="c.png")
    live = read_live_state(bria, desired("lora-v1"))
    datasets = {d.id: d for d in live.projects[0].datasets or ()}
    assert datasets[first.id].images is None
    assert [i.image_name for i in datasets[second.id].images or ()] == ["c.png"]
    plan = build_plan(desired("lora-v1"), live)
    assert plan.errors == ()
