"""End to end, the real CLI against the emulator over HTTP: fresh apply, no-op re-plan, outputs,
confirmation, connection errors, saved and stale plans, --wait."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from e2e_support import QUICK_WAITS, TOKEN, World, make_world, set_knobs
from manifest_builders import image_files, png_bytes, standard_tree

PREFIX = "An illustration of a character named Lora,"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch, **QUICK_WAITS)


def test_fresh_apply_then_no_change_plan(world: World) -> None:
    world.tree = standard_tree(world.root, images=3)
    first = world.plan("--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "Plan: 3 to create, 0 to update, 0 to clone, 0 to replace (retrain), 0 to delete." in (
        first.output
    )
    applied = world.converge()
    assert "Apply complete: 10 steps done" in applied.output
    # how long, as the plan's budget says (a light training: the reference's 1-3 h)
    assert "1 model(s) started training (1-3 h each)" in applied.output
    state = world.state()
    images = state["lora"]["datasets"]["lora-v1"]["images"]
    assert [name.split(".")[0] for name, _, _ in images] == ["lora-01", "lora-02", "lora-03"]
    by_stem = {name.split(".")[0]: (caption, source) for name, caption, source in images}
    assert by_stem["lora-01"] == ("standing on a beach at sunset", "manual")
    assert by_stem["lora-02"][1] == "automatic" and by_stem["lora-02"][0].startswith(PREFIX)
    assert state == {
        "lora": {
            "datasets": {
                "lora-v1": {"status": "completed", "caption_prefix": PREFIX, "images": images}
            },
            "models": {
                "lora-light": {
                    "dataset": "lora-v1",
                    "status": "InProgress",
                    "training_version": "light",
                }
            },
        }
    }
    assert world.raw_state()["projects"][0]["ip_name"] == "Lora"
    # apply again: nothing to do, nothing written
    again = world.apply()
    assert "No changes" in again.output and "Apply complete" not in again.output


def test_json_and_markdown_outputs(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    result = world.plan("--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    schema = json.loads(
        resources.files("reconciler").joinpath("schemas/plan.schema.json").read_text()
    )
    jsonschema.validate(document, schema)
    assert document["format_version"] == 1
    assert document["summary"] == {"create": 3, "update": 0, "clone": 0, "replace": 0, "delete": 0}
    addresses = [c["address"] for c in document["changes"]]
    assert addresses == ["project.lora", "dataset.lora/lora-v1", "model.lora/lora-light"]
    ops = [op["op"] for c in document["changes"] for op in c["operations"]]
    assert ops[:3] == ["CreateProject", "CreateDataset", "UpdateDataset"]
    assert ops[-2:] == ["CreateModel", "StartTraining"]
    markdown = world.plan("--format", "markdown")
    assert markdown.exit_code == 0
    assert "3 to create" in markdown.stdout
    assert "| `project.lora`" in markdown.stdout or "project.lora" in markdown.stdout
    assert "<details>" in markdown.stdout


def test_apply_refuses_without_a_terminal(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    result = world.cli("apply", "manifests")
    assert result.exit_code == 1
    assert (
        "refusing to apply without confirmation: stdin is not a terminal; pass --auto-approve"
        in result.output
    )
    assert world.raw_state()["projects"] == []


def test_missing_token_and_token_file(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    result = world.cli("plan", "manifests", BRIA_API_TOKEN="")
    assert result.exit_code == 1
    assert "no API token: set BRIA_API_TOKEN or pass --token-file FILE" in result.output
    token_file = world.root / "token.txt"
    token_file.write_text(TOKEN + "\n")
    with_file = world.cli("plan", "manifests", "--token-file", str(token_file), BRIA_API_TOKEN="")
    assert with_file.exit_code == 0, with_file.output
    assert TOKEN not in with_file.output
    missing = world.cli("plan", "manifests", "--token-file", "nope.txt", BRIA_API_TOKEN="")
    assert missing.exit_code == 1
    assert "token file 'nope.txt' cannot be read" in missing.output


def test_invalid_manifests_stop_before_any_call(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.model("lora", "broken", "no-such-dataset")
    result = world.plan()
    assert result.exit_code == 1
    assert "manifests/lora.yaml:" in result.output and ": error: " in result.output
    assert "the manifests have 1 error" in result.output


def test_saved_plan_is_carried_out_exactly(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    saved = world.plan("--out", "plan.json")
    assert saved.exit_code == 0, saved.output
    # the manifests may change after the plan is saved: --plan does what the plan says
    world.tree.images[("lora", "lora-v1")]["lora-09.png"] = 99
    world.tree.write()
    (world.root / "manifests" / "images" / "lora" / "lora-v1" / "lora-09.png").unlink()
    result = world.cli("apply", "--plan", "plan.json", "--auto-approve")
    assert result.exit_code == 0, result.output
    images = world.state()["lora"]["datasets"]["lora-v1"]["images"]
    assert len(images) == 2
    # the saved plan is now stale: the account changed since it was made
    stale = world.cli("apply", "--plan", "plan.json", "--auto-approve")
    assert stale.exit_code == 1
    assert (
        "the saved plan is stale: the account changed since it was made; run plan again"
        in stale.output
    )


def test_saved_plan_goes_stale_after_a_console_edit(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.converge()
    world.tree.dataset("lora", "lora-v2", image_files(1, prefix="n", first_seed=40), status="draft")
    assert world.plan("--out", "plan.json").exit_code == 0
    with world.client() as client:
        project = client.list_projects()[0]
        client.update_project(project.id, project_description="edited in the console")
    stale = world.cli("apply", "--plan", "plan.json", "--auto-approve")
    assert stale.exit_code == 1
    assert "the saved plan is stale" in stale.output
    assert "lora-v2" not in world.state()["lora"]["datasets"]


def test_saved_plan_refuses_an_image_changed_since(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    assert world.plan("--out", "plan.json").exit_code == 0
    changed = world.root / "manifests" / "images" / "lora" / "lora-v1" / "lora-02.png"
    changed.write_bytes(png_bytes(77))
    result = world.cli("apply", "--plan", "plan.json", "--auto-approve")
    assert result.exit_code == 1
    assert f"image file '{changed}' changed since the plan was made" in result.output
    assert "Not done" in result.output
    assert world.state()["lora"]["datasets"]["lora-v1"]["status"] == "draft"


def test_wait_follows_training_to_completion(world: World) -> None:
    set_knobs(world.server, training_seconds=0.1)
    world.tree = standard_tree(world.root, images=1)
    began = time.monotonic()
    result = world.apply("--wait", "--wait-timeout", "30")
    assert "model 'lora/lora-light': Completed" in result.output
    assert "All 1 model(s) completed training" in result.output
    assert time.monotonic() - began < 20
    assert world.state()["lora"]["models"]["lora-light"]["status"] == "Completed"


def test_wait_exits_1_when_training_fails(world: World) -> None:
    set_knobs(world.server, training_seconds=0.1)
    world.tree = standard_tree(world.root, images=1)
    world.tree.model("lora", "lora-fail-training", "lora-v1")
    world.tree.write()
    result = world.cli("apply", "manifests", "--auto-approve", "--wait")
    assert result.exit_code == 1
    assert "training did not complete for 'lora/lora-fail-training' (Failed)" in result.output
    # a later plan replaces the failed model
    replan = world.plan()
    assert "lora-fail-training~2" in replan.output


def test_wait_times_out(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    result = world.cli("apply", "manifests", "--auto-approve", "--wait", "--wait-timeout", "0.2")
    assert result.exit_code == 1
    assert "stopped waiting after" in result.output
    assert "'lora/lora-light' still training in Bria" in result.output


@pytest.mark.parametrize("prune", [False, True])
def test_saved_plan_with_superseded_and_undeclared_datasets_is_not_stale(
    world: World, prune: bool
) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.converge()
    world.tree.images[("lora", "lora-v1")]["lora-03.png"] = 33  # a clone: lora-v1~2
    world.converge()
    with world.client() as client:
        project = client.list_projects()[0]
        scratch = client.create_dataset(project_id=project.id, name="scratch")
        client.upload_image(scratch.id, file=png_bytes(5), image_name="s.png")
    world.tree.images[("lora", "lora-v1")]["lora-04.png"] = 44  # another clone: lora-v1~3
    if not prune:  # a declared dataset with no version yet: rename candidates are read too
        world.tree.dataset("lora", "lora-v2", image_files(1, prefix="v", first_seed=70))
    flags = ["--prune"] if prune else []
    assert world.plan("--out", "plan.json", *flags).exit_code == 0
    result = world.cli("apply", "--plan", "plan.json", "--auto-approve")
    assert result.exit_code == 0, result.output
    datasets = world.state()["lora"]["datasets"]
    if prune:
        assert list(datasets) == ["lora-v1~3"]
    else:
        assert set(datasets) == {"lora-v1", "lora-v1~2", "lora-v1~3", "scratch", "lora-v2"}


def test_a_no_change_plan_makes_the_fewest_calls(world: World) -> None:
    from e2e_support import admin
    from manifest_builders import example_like_tree

    world.tree = example_like_tree(world.root)
    world.converge()
    before = admin(world.server, "GET", "stats")["by_route"]
    assert world.plan("--detailed-exitcode").exit_code == 0
    after = admin(world.server, "GET", "stats")["by_route"]
    calls = {route: n - before.get(route, 0) for route, n in after.items()}
    calls = {route: n for route, n in calls.items() if n}
    # one list of projects, one list of datasets per project, one list of images per dataset
    assert sum(calls.values()) == 5, calls
    assert all(route.startswith("GET ") for route in calls)


def test_saved_plan_stays_valid_when_training_finishes_meanwhile(world: World) -> None:
    """Plan on the pull request while models train, apply on merge after they finished: the
    plan would do the same, so it is not stale."""
    # long enough to be still training when the plan is saved (converge and plan take ~0.3 s)
    set_knobs(world.server, training_seconds=1.2)
    world.tree = standard_tree(world.root, images=2)
    world.converge()
    world.tree.dataset("lora", "lora-v2", image_files(1, prefix="n", first_seed=40), status="draft")
    saved = world.plan("--out", "plan.json")
    assert saved.exit_code == 0, saved.output
    assert "training (InProgress)" in saved.output
    deadline = time.monotonic() + 20
    while world.state()["lora"]["models"]["lora-light"]["status"] != "Completed":
        assert time.monotonic() < deadline, "training never completed"
        time.sleep(0.02)
    result = world.cli("apply", "--plan", "plan.json", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert world.state()["lora"]["datasets"]["lora-v2"]["status"] == "draft"
