"""End to end, issue 14 (training spend): the real CLI against the emulator over HTTP.

- three quick caption edits while the model trains give one running training, the superseded
  ones stopped (or kept running with --keep-superseded, said in the plan), and --wait follows the
  current version only;
- --prune keeps the last Completed version until its replacement has completed;
- the training budget is in the text, markdown and JSON plan, and the JSON validates;
- each policy level of reconciler.yaml: advisory warns, soft refuses unless --override, hard
  refuses; apply enforces before any write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import World, make_world, set_knobs
from jsonschema import Draft202012Validator
from manifest_builders import standard_tree

ROOT = Path(__file__).resolve().parents[2]
PLAN_SCHEMA = json.loads((ROOT / "reconciler" / "schemas" / "plan.schema.json").read_text())


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def models(world: World) -> dict[str, str]:
    return {name: m["status"] for name, m in world.state()["lora"]["models"].items()}


def settle(world: World, name: str, status: str = "Completed", timeout: float = 30) -> None:
    """Poll (fast, with a deadline) until model `name` of project lora has `status`."""
    deadline = time.monotonic() + timeout
    while models(world).get(name) != status:
        assert time.monotonic() < deadline, f"{name} never became {status}: {models(world)}"
        time.sleep(0.05)


def edit_caption(world: World, text: str) -> None:
    world.tree.datasets[("lora", "lora-v1")]["spec"]["captions"]["lora-01.png"] = text


def write_config(world: World, text: str) -> None:
    (world.root / "reconciler.yaml").write_text(text)


def test_three_quick_edits_give_one_running_training(world: World) -> None:
    set_knobs(world.server, stopping_seconds=0.02)  # each apply waits for the stop it asks
    world.tree = standard_tree(world.root, images=2)
    world.apply()  # lora-light trains (30 s in this emulator)
    for n in (1, 2, 3):
        edit_caption(world, f"edit {n}")
        plan = world.plan()
        assert "its training is stopped, since nothing declared will use it" in plan.output
        assert "WARNING: model 'lora/lora-light" in plan.output
        world.apply()
    statuses = models(world)
    assert sorted(statuses) == ["lora-light", "lora-light~2", "lora-light~3", "lora-light~4"]
    assert statuses["lora-light~4"] == "InProgress"
    assert [s for s in statuses.values() if s == "InProgress"] == ["InProgress"]
    assert {statuses[n] for n in ("lora-light", "lora-light~2", "lora-light~3")} <= {
        "Stopping",
        "Stopped",
    }


def test_keep_superseded_lets_the_old_training_run_and_wait_follows_the_current_one(
    world: World,
) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.apply()
    edit_caption(world, "edit")
    plan = world.plan("--keep-superseded")
    assert "~3 h left; it keeps running and costs ~3 h more (keep-superseded)" in plan.output
    assert "StopTraining" not in plan.output
    set_knobs(world.server, training_seconds=0.1)  # the new training finishes quickly
    applied = world.apply("--keep-superseded", "--wait", "--wait-timeout", "60")
    assert "Waiting for 1 model(s)" in applied.output
    assert "model 'lora/lora-light~2'" in applied.output
    assert "model 'lora/lora-light':" not in applied.output  # the superseded one is not waited for
    statuses = models(world)
    assert statuses["lora-light~2"] == "Completed"
    assert statuses["lora-light"] == "InProgress"  # still running, as asked


def test_prune_keeps_the_last_completed_model_until_its_replacement_completes(
    world: World,
) -> None:
    set_knobs(world.server, training_seconds=0.1)
    world.tree = standard_tree(world.root, images=2)
    world.apply()
    settle(world, "lora-light")
    assert models(world) == {"lora-light": "Completed"}
    # the replacement must still train through one apply and one plan (0.1 s on an idle machine,
    # so 15x margin for a loaded one); settle() then waits no longer than it takes
    set_knobs(world.server, training_seconds=1.5)
    edit_caption(world, "a new caption")
    plan = world.plan("--prune")
    assert (
        "the old model 'lora-light' (Completed) is kept until 'lora-light~2' has completed "
        "training (the last Completed version; a later apply with --prune deletes it)"
    ) in plan.output
    assert "0 completed models lost" in plan.output
    world.apply("--prune")
    assert models(world) == {"lora-light": "Completed", "lora-light~2": "InProgress"}
    # while the replacement trains, --prune still keeps it (and its dataset)
    again = world.plan("--prune", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "kept until 'lora-light~2' has completed training" in again.output
    settle(world, "lora-light~2")  # the replacement finishes
    done = world.apply("--prune")
    assert "- model.lora/lora-light~1 (delete)" in done.output
    assert models(world) == {"lora-light~2": "Completed"}
    assert sorted(world.state()["lora"]["datasets"]) == ["lora-v1~2"]


def test_the_budget_is_in_text_markdown_and_json(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.tree.model("lora", "lora-max", "lora-v1", training_version="max")
    (world.root / "prices.yaml").write_text(
        "pricing:\n  currency: EUR\n  light: {per_hour: 10}\n  max: {per_training: 100}\n"
    )
    text = world.plan("--pricing", "prices.yaml")
    line = (
        "Training budget: 2 to start, 0 to replace, 0 to stop, 0 completed models lost; "
        "2-6 h of training "
        "(light: 1-3 h each, reference; max: 1-3 h each, reference); cost 110-130 EUR"
    )
    assert line in text.output.splitlines()
    markdown = world.plan("--pricing", "prices.yaml", "--format", "markdown")
    assert f"> :hourglass: {line}" in markdown.output
    data = json.loads(world.plan("--pricing", "prices.yaml", "--format", "json").stdout)
    assert not list(Draft202012Validator(PLAN_SCHEMA).iter_errors(data))
    assert data["budget"] == {
        "trainings_to_start": 2,
        "trainings_to_replace": 0,
        "trainings_to_stop": 0,
        "completed_models_lost": 0,
        "hours": {"low": 2.0, "high": 6.0},
        "durations": {
            "light": {"low": 1.0, "high": 3.0, "source": "reference", "samples": 0},
            "max": {"low": 1.0, "high": 3.0, "source": "reference", "samples": 0},
        },
        "cost": {"low": 110.0, "high": 130.0, "currency": "EUR"},
    }


def test_durations_come_from_the_account_s_own_history(world: World) -> None:
    # timestamps are whole seconds: a 1 s training always ends on the next one
    set_knobs(world.server, training_seconds=1.0)
    world.tree = standard_tree(world.root, images=2)
    world.apply()
    settle(world, "lora-light")
    edit_caption(world, "retrain")
    data = json.loads(world.plan("--format", "json").stdout)
    light = data["budget"]["durations"]["light"]
    assert light["source"] == "history" and light["samples"] == 1
    assert light["high"] < 0.01  # a 0.5 s training, in hours


def policy_plan(world: World, *args: str) -> Any:
    world.tree = standard_tree(world.root, images=2)
    return world.plan(*args)


@pytest.mark.parametrize(
    ("level", "override", "exit_code", "line"),
    [
        ("advisory", False, 0, "Policy max-trainings (advisory): warning: 1 training to start"),
        ("soft", False, 1, "Policy max-trainings (soft): FAILED: 1 training to start"),
        ("soft", True, 0, "Policy max-trainings (soft): overridden (--override max-trainings)"),
        ("hard", True, 1, "Policy max-trainings (hard): FAILED: 1 training to start"),
    ],
)
def test_each_policy_level(
    world: World, level: str, override: bool, exit_code: int, line: str
) -> None:
    write_config(world, f"policies:\n  max-trainings: {{level: {level}, limit: 0}}\n")
    args = ("--override", "max-trainings") if override else ()
    plan = policy_plan(world, *args)
    assert plan.exit_code == exit_code, plan.output
    assert any(out.startswith(line) for out in plan.output.splitlines()), plan.output
    markdown = policy_plan(world, "--format", "markdown", *args)
    first = markdown.stdout.splitlines()[2]  # a failed policy comes first in the comment
    assert first.startswith("> :no_entry: **Policy" if exit_code else "> :warning: **Policy")
    before = world.raw_state()
    applied = world.cli("apply", "manifests", "--auto-approve", *args)
    assert applied.exit_code == exit_code, applied.output
    if exit_code:
        assert "nothing was changed" in applied.output
        assert world.raw_state() == before  # enforced before any write


def test_no_retrain_and_no_delete_completed_model_policies(world: World) -> None:
    set_knobs(world.server, training_seconds=0.1)
    world.tree = standard_tree(world.root, images=2)
    world.apply()
    settle(world, "lora-light")
    write_config(
        world,
        "policies:\n  no-retrain-completed-model: soft\n  no-delete-completed-model: hard\n",
    )
    edit_caption(world, "retrain it")
    plan = world.plan()
    assert plan.exit_code == 1
    assert (
        "Policy no-retrain-completed-model (soft): FAILED: 1 completed model retrained: "
        "'lora/lora-light'; pass --override no-retrain-completed-model to apply anyway"
    ) in plan.output
    assert "Policy no-delete-completed-model (hard): passed: 0 completed models deleted" in (
        plan.output
    )
    assert world.plan("--override", "no-retrain-completed-model").exit_code == 0


def test_a_bad_config_is_one_line_naming_the_file_line_and_field(world: World) -> None:
    write_config(world, "policies:\n  max-trainings: {level: sof, limit: 2}\n")
    plan = policy_plan(world)
    assert plan.exit_code == 1
    assert "reconciler.yaml:2:" in plan.output
    assert "policies.max-trainings.level: level 'sof' is not one of advisory, soft, hard" in (
        plan.output
    )
    assert "Traceback" not in plan.output
    unknown = world.cli("plan", "manifests", "--override", "max-train")
    assert unknown.exit_code == 1 and "--override 'max-train' is not a policy" in unknown.output


def test_a_saved_plan_is_held_to_its_policies_with_the_apply_s_overrides(world: World) -> None:
    write_config(world, "policies:\n  max-trainings: {level: soft, limit: 0}\n")
    saved = policy_plan(world, "--out", "plan.json")
    assert saved.exit_code == 1  # refused, but saved for a reviewer to override
    data = json.loads((world.root / "plan.json").read_text())
    assert [p["name"] for p in data["policies"] if p["blocks"]] == ["max-trainings"]
    before = world.raw_state()
    refused = world.cli("apply", "--plan", "plan.json", "--auto-approve")
    assert refused.exit_code == 1 and "nothing was changed" in refused.output
    assert world.raw_state() == before
    applied = world.cli(
        "apply", "--plan", "plan.json", "--auto-approve", "--override", "max-trainings"
    )
    assert applied.exit_code == 0, applied.output
    assert "overridden (--override max-trainings)" in applied.output


def test_a_protected_model_is_neither_replaced_nor_deleted(world: World) -> None:
    set_knobs(world.server, training_seconds=0.1)
    world.tree = standard_tree(world.root, images=2)
    world.apply("--wait")
    world.tree.models[("lora", "lora-light")]["metadata"]["protect"] = True
    edit_caption(world, "a better caption")  # the clone would retrain the model
    before = world.raw_state()
    plan = world.plan()
    assert plan.exit_code == 1, plan.output
    lines = (world.tree.manifests / "lora.yaml").read_text().splitlines()
    where = f"manifests/lora.yaml:{lines.index('  protect: true') + 1}:3"
    assert (
        f"{where}: error: model 'lora/lora-light' is protected (metadata.protect: true): the "
        "plan would replace it with a new training from scratch (dataset changed to "
        "'lora-v1~2'); remove metadata.protect from its manifest to let it retrain, or undo the "
        "change"
    ) in plan.output.splitlines()
    edit_caption(world, "standing on a beach at sunset")  # back to what was trained
    world.tree.models[("lora", "lora-light")]["metadata"]["delete"] = True
    world.tree.write()
    deleting = world.cli("apply", "manifests", "--auto-approve")
    assert deleting.exit_code == 1, deleting.output
    assert "remove metadata.protect (to delete it) or metadata.delete (to keep it)" in (
        deleting.output
    )
    assert world.raw_state()["models"] == before["models"]


def test_a_saved_plan_is_held_to_the_policies_of_now_and_of_when_it_was_made(
    world: World,
) -> None:
    assert policy_plan(world, "--out", "plain.json").exit_code == 0  # no reconciler.yaml yet
    write_config(world, "policies:\n  max-trainings: {level: hard, limit: 0}\n")
    before = world.raw_state()
    late = world.cli("apply", "--plan", "plain.json", "--auto-approve")
    assert late.exit_code == 1, late.output  # the policy set since is enforced
    assert "Policy max-trainings (hard): FAILED: 1 training to start" in late.output
    write_config(world, "policies:\n  max-trainings: {level: soft, limit: 0}\n")
    assert policy_plan(world, "--out", "held.json").exit_code == 1
    (world.root / "reconciler.yaml").unlink()  # dropping the config lifts nothing
    dropped = world.cli("apply", "--plan", "held.json", "--auto-approve")
    assert dropped.exit_code == 1, dropped.output
    assert world.raw_state() == before


def test_prune_keeps_a_superseded_training_the_flag_lets_run(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.apply()  # lora-light trains (30 s in this emulator)
    edit_caption(world, "edit")
    applied = world.apply("--prune", "--keep-superseded")
    assert "kept while model 'lora-light' on it keeps training (keep-superseded" in applied.output
    statuses = models(world)
    assert statuses == {"lora-light": "InProgress", "lora-light~2": "InProgress"}
    assert set(world.state()["lora"]["datasets"]) == {"lora-v1", "lora-v1~2"}
