"""Issue 5's fault-injection suite: a full apply against an emulator that fails requests, loses
answers after acting and rate-limits, with a seed each; rerun until it succeeds, then the account
must hold exactly the declared resources, without a duplicate, and a following plan is empty.

A few seeds run by default; more with RECONCILER_SEEDS (e.g. `RECONCILER_SEEDS=1-40`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import QUICK_WAITS, World, admin, assert_converged_exactly, make_world, set_knobs
from manifest_builders import example_like_tree, image_files


def seeds(default: list[int]) -> list[int]:
    raw = os.environ.get("RECONCILER_SEEDS", "").strip()
    if not raw:
        return default
    if "-" in raw:
        first, last = raw.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(part) for part in raw.split(",") if part.strip()]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch, **QUICK_WAITS)


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds([3, 8]))
def test_apply_under_faults_converges_exactly(world: World, seed: int) -> None:
    world.tree = example_like_tree(world.root)
    world.tree.write()
    set_knobs(
        world.server,
        failure_rate=0.08,
        lost_response_rate=0.12,
        rate_limit_every=11,
        retry_after=0.02,
        seed=seed,
    )
    outcomes = []
    for _attempt in range(8):
        result = world.cli("apply", "manifests", "--auto-approve")
        outcomes.append(result.exit_code)
        if result.exit_code == 0:
            break
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "internal error" not in result.output, (
            result.output
        )
    assert outcomes[-1] == 0, outcomes
    faults = admin(world.server, "GET", "stats")["faults"]
    set_knobs(world.server, failure_rate=0.0, lost_response_rate=0.0, rate_limit_every=0)
    if faults["lost_responses"] == 0:
        # a seed whose random sequence loses no answer before apply converges (e.g. 107: the
        # first fault falls on request 45) proves nothing about lost answers; say so
        pytest.skip(f"seed {seed} lost no answer before apply converged: {faults}")
    assert_converged_exactly(world)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds([5]))
def test_the_examples_under_faults_end_exactly_like_a_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    import shutil

    from e2e_support import duplicates, run, running_emulator, summary

    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    with running_emulator(tmp_path / "clean", training_seconds=60) as clean:
        assert run(clean, "apply", "examples", "--auto-approve").exit_code == 0
        expected = summary(admin(clean, "GET", "state"))
    with running_emulator(
        tmp_path / "faulty",
        training_seconds=60,
        failure_rate=0.06,
        lost_response_rate=0.1,
        rate_limit_every=13,
        retry_after=0.02,
        seed=seed,
    ) as faulty:
        codes = []
        for _attempt in range(8):
            codes.append(run(faulty, "apply", "examples", "--auto-approve").exit_code)
            if codes[-1] == 0:
                break
        assert codes[-1] == 0, codes
        set_knobs(faulty, failure_rate=0.0, lost_response_rate=0.0, rate_limit_every=0)
        assert run(faulty, "plan", "examples", "--detailed-exitcode").exit_code == 0
        state = admin(faulty, "GET", "state")
    assert duplicates(state) == []
    assert summary(state) == expected


FAULTS = {
    "failure_rate": 0.08,
    "lost_response_rate": 0.12,
    "rate_limit_every": 11,
    "retry_after": 0.02,
}
NEW_PREFIX = "A watercolour of a character named Lora,"


def _apply_until_done(world: World, *args: str) -> list[int]:
    codes = []
    for _attempt in range(10):
        result = world.cli("apply", "manifests", "--auto-approve", *args)
        codes.append(result.exit_code)
        if result.exit_code == 0:
            break
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "internal error" not in result.output, (
            result.output
        )
    return codes


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds([4]))
def test_edit_paths_under_faults_converge(world: World, seed: int) -> None:
    """The edit paths under faults (issue 8): a prefix change and a new image on a completed
    dataset (clone-on-edit, regenerate all, retrain), a prefix change on a draft (in place), and
    a model dropped from the manifests with --prune. Then one copy of everything, the new
    captions continue the new prefix, and a following plan is empty."""
    from e2e_support import duplicates

    world.tree = example_like_tree(world.root)
    world.tree.dataset(
        "acme-icons",
        "icons-draft",
        image_files(3, prefix="sketch", first_seed=300),
        caption_prefix="An icon sketch,",
        status="draft",
    )
    world.apply()
    lora = world.tree.datasets[("lora", "lora-v1")]["spec"]
    lora["caption_prefix"] = NEW_PREFIX
    world.tree.images[("lora", "lora-v1")]["lora-09.png"] = 9
    world.tree.datasets[("acme-icons", "icons-draft")]["spec"]["caption_prefix"] = "An icon, v2,"
    del world.tree.models[("acme-icons", "icons-light")]
    world.tree.write()
    set_knobs(world.server, **FAULTS, seed=seed)

    codes = _apply_until_done(world, "--prune")

    assert codes[-1] == 0, codes
    set_knobs(world.server, failure_rate=0.0, lost_response_rate=0.0, rate_limit_every=0)
    replan = world.plan("--prune", "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output
    state = world.raw_state()
    assert duplicates(state) == []
    by_name = {d["name"]: d for d in state["datasets"]}
    assert "lora-v1~2" in by_name and by_name["lora-v1~2"]["status"] == "completed"
    for name, prefix in (("lora-v1~2", NEW_PREFIX), ("icons-draft", "An icon, v2,")):
        dataset = by_name[name]
        assert dataset["caption_prefix"] == prefix
        for image in state["images"]:
            if image["dataset_id"] == dataset["id"] and image["caption_source"] == "automatic":
                assert image["caption"].startswith(prefix), image
    live_models = {m["name"] for m in state["models"] if m["status"] != "Deleted"}
    assert "icons-light" not in live_models
    assert {"lora-light~2", "lora-max~2"} <= live_models
