"""End to end, for gaps a review of issues 4 and 5 found: each test runs the real CLI against the
emulator over HTTP, after console edits made through the API, and checks the exact outcome.

- a dataset pruned with the models on it: every deletion is a change of its own and is counted;
- two live datasets, or two live models, with the same name: the plan refuses with one clear,
  actionable line instead of guessing (and, for models, instead of stopping a training);
- a 401 names where the token came from (`--token-file` or `BRIA_API_TOKEN`);
- a token pasted into a manifest is never written into a saved plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import TOKEN, World, make_world
from manifest_builders import image_files, standard_tree


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def summary_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Plan: "))


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def two_dataset_tree(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.dataset("lora", "extra", image_files(1, prefix="x", first_seed=70))
    world.tree.model("lora", "extra-light", "extra")
    world.tree.model("lora", "extra-max", "extra", training_version="max")


def test_pruning_a_dataset_counts_each_model_that_goes_with_it(world: World) -> None:
    two_dataset_tree(world)
    world.converge()
    del world.tree.datasets[("lora", "extra")]
    del world.tree.images[("lora", "extra")]
    del world.tree.models[("lora", "extra-light")]
    del world.tree.models[("lora", "extra-max")]
    plan = world.plan("--prune", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert summary_line(plan.output) == (
        "Plan: 0 to create, 0 to update, 0 to clone, 0 to replace (retrain), 3 to delete."
    )
    assert "- dataset.lora/extra (delete)" in plan.output
    assert "- model.lora/extra-light (delete)" in plan.output
    assert "- model.lora/extra-max (delete)" in plan.output
    assert (
        "model 'extra-max' on dataset 'extra' goes with its dataset (not declared, --prune): "
        "delete it first: 'extra-max' (InProgress: training stops)"
    ) in plan.output
    world.converge("--prune")
    state = world.state()["lora"]
    assert list(state["datasets"]) == ["lora-v1"]
    assert list(state["models"]) == ["lora-light"]


def test_two_live_datasets_with_the_same_name_are_refused_clearly(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.converge()
    with world.client() as client:
        project = client.list_projects()[0]
        first = client.list_project_datasets(project.id)[0]
        second = client.create_dataset(project_id=project.id, name="lora-v1")
    before = world.raw_state()
    plan = world.plan("--prune")
    assert plan.exit_code == 1
    assert error_lines(plan.output)[0] == (
        f"error: dataset 'lora-v1' exists 2 times in project 'lora' in Bria (ids {first.id}, "
        f"{second.id}), so the plan cannot tell which one the manifest means: rename or delete "
        "the extra ones in Bria's console, then plan again"
    )
    assert "bug" not in plan.output
    applied = world.cli("apply", "manifests", "--auto-approve", "--prune")
    assert applied.exit_code == 1
    assert world.raw_state() == before  # refused: nothing written
    with world.client() as client:  # resolved in the console: the plan works again
        client.delete_dataset(second.id)
    assert world.plan("--detailed-exitcode").exit_code == 0


def test_two_live_models_with_the_same_name_are_refused_not_pruned(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.converge()
    with world.client() as client:
        project = client.list_projects()[0]
        dataset = client.list_project_datasets(project.id)[0]
        twin = client.create_model(
            name="lora-light", dataset_id=dataset.id, training_version="light"
        )
        client.start_training(twin.id)
    plan = world.plan("--prune")
    assert plan.exit_code == 1
    [line] = [line for line in error_lines(plan.output) if "exists 2 times" in line]
    assert line.startswith("error: model 'lora-light' exists 2 times in project 'lora' in Bria (")
    assert f"id {twin.id} InProgress on dataset 'lora-v1'" in line
    assert line.endswith(
        "so the plan cannot tell which one the manifest means: rename or delete the extra ones "
        "in Bria's console (stop training first), then plan again"
    )
    applied = world.cli("apply", "manifests", "--auto-approve", "--prune")
    assert applied.exit_code == 1
    models = {m["id"]: m["status"] for m in world.raw_state()["models"]}
    assert models[twin.id] in ("InProgress", "Completed")  # never stopped, never deleted
    assert len(models) == 2


def test_a_rejected_token_from_a_token_file_names_the_file(world: World, tmp_path: Path) -> None:
    world.tree = standard_tree(world.root, images=1)
    token_file = tmp_path / "token.txt"
    token_file.write_text("wrong-token-from-file\n")
    world.tree.write()
    from_file = world.cli("plan", "manifests", "--token-file", str(token_file), BRIA_API_TOKEN="")
    assert from_file.exit_code == 1
    [line] = error_lines(from_file.output)
    assert line.endswith(f"(check the token in --token-file '{token_file}')"), line
    assert "BRIA_API_TOKEN" not in line
    assert "wrong-token-from-file" not in from_file.output
    from_env = world.cli("plan", "manifests", BRIA_API_TOKEN="wrong-token-from-env")
    assert from_env.exit_code == 1
    [line] = error_lines(from_env.output)
    assert line.endswith("(check BRIA_API_TOKEN)"), line
    assert "wrong-token-from-env" not in from_env.output


def test_a_token_pasted_into_a_manifest_never_reaches_a_saved_plan(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.models[("lora", "lora-light")]["spec"]["description"] = f"key {TOKEN}"
    plan_file = world.root / "plan.json"
    saved = world.plan("--out", str(plan_file))
    assert saved.exit_code == 1
    assert not plan_file.exists()
    assert TOKEN not in saved.output
    assert error_lines(saved.output)[-1] == (
        f"error: plan file '{plan_file}' was not written: the plan holds the API token (in "
        "model.lora/lora-light), which would then sit in the file in clear: remove the token "
        "from the manifests"
    )
    for path in (world.root / ".reconciler").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    shown = world.plan("--format", "json")  # on screen it is redacted, as everywhere
    assert shown.exit_code == 0 and TOKEN not in shown.output and '"key ***"' in shown.output


def test_repeated_image_names_in_a_draft_are_each_deleted_once(world: World) -> None:
    """Console uploads into a draft: a foreign image twice under one name, and two more copies
    of one of the reconciler's images. Each extra copy is deleted exactly once; the copy kept is
    the one holding the manifest caption."""
    import base64

    import httpx

    world.tree = standard_tree(world.root, images=2)
    world.tree.datasets[("lora", "lora-v1")]["spec"]["status"] = "draft"
    world.converge()
    with world.client() as client:
        dataset = client.list_project_datasets(client.list_projects()[0].id)[0]
        ours = {i.image_name: i.id for i in client.list_images(dataset.id)}
    captioned = next(name for name in ours if name.startswith("lora-01."))
    content = (world.tree.manifests / "images/lora/lora-v1/lora-01.png").read_bytes()
    for name in ("x.png", "x.png", captioned, captioned):
        response = httpx.post(
            f"{world.server.url}/tailored-gen/datasets/{dataset.id}/images",
            headers={"api_token": TOKEN},
            json={"file": base64.b64encode(content).decode(), "image_name": name},
            timeout=30,
        )
        assert response.status_code == 201, response.text
    plan = world.plan("--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "operations (4): DeleteImage x4" in plan.output
    world.converge()
    images = world.state()["lora"]["datasets"]["lora-v1"]["images"]
    assert sorted(name for name, _, _ in images) == sorted(ours)
    with world.client() as client:
        kept = {i.image_name: i for i in client.list_images(dataset.id)}
    assert kept[captioned].id == ours[captioned]
    assert (kept[captioned].caption, kept[captioned].caption_source) == (
        "standing on a beach at sunset",
        "manual",
    )


def test_ctrl_c_while_waiting_for_training_says_training_goes_on(world: World) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from e2e_support import cli_env

    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "manifests", "--auto-approve", "--wait"],
        cwd=world.root,
        env={**os.environ, **cli_env(world.server)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # training takes 30 s on this emulator
        models = world.raw_state()["models"]
        if models and models[0]["status"] == "InProgress":
            break
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "Waiting for 1 model(s) to finish training" in out
    assert "interrupt: stopping the wait (training goes on in Bria)..." in err
    [line] = error_lines(err)
    assert line.startswith("error: stopped waiting (interrupted) after 0m0")
    assert line.endswith(
        ": 'lora/lora-light' still training in Bria (it goes on); run 'reconciler plan' later "
        "to see the result"
    )
    assert "Traceback" not in err
    assert world.raw_state()["models"][0]["status"] == "InProgress"
