"""Seeded chains of random manifest edits, each applied with --prune and followed by an empty
plan; after every round the account holds exactly the declared resources (current versions under
their base names, old versions pruned). Default seeds are few; RECONCILER_SEEDS adds more, and
also runs the same chains against an emulator injecting faults (about 8 s a seed)."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import QUICK_WAITS, World, current_shape, declared_shape, duplicates, make_world
from manifest_builders import ManifestTree, example_like_tree, image_files


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch, **QUICK_WAITS)


def seeds(default: tuple[int, ...] = (1, 2)) -> list[int]:
    raw = os.environ.get("RECONCILER_SEEDS", "").strip()
    if not raw:
        return list(default)
    if "-" in raw:
        first, last = raw.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(part) for part in raw.split(",") if part.strip()]


Edit = Callable[[ManifestTree, random.Random], str]


def _dataset(tree: ManifestTree, rng: random.Random) -> tuple[str, str]:
    return rng.choice(sorted(tree.datasets))


def add_image(tree: ManifestTree, rng: random.Random) -> str:
    key = _dataset(tree, rng)
    name = f"extra-{rng.randrange(1000):03d}.png"
    tree.images[key][name] = rng.randrange(1000, 5000)
    return f"add {name} to {key[1]}"


def remove_image(tree: ManifestTree, rng: random.Random) -> str:
    key = _dataset(tree, rng)
    files = tree.images[key]
    if len(files) < 2:
        return "noop"
    name = rng.choice(sorted(files))
    del files[name]
    captions = tree.datasets[key]["spec"].get("captions") or {}
    captions.pop(name, None)
    return f"remove {name} from {key[1]}"


def change_image(tree: ManifestTree, rng: random.Random) -> str:
    key = _dataset(tree, rng)
    name = rng.choice(sorted(tree.images[key]))
    tree.images[key][name] = rng.randrange(5000, 9000)
    return f"change {name} in {key[1]}"


def set_caption(tree: ManifestTree, rng: random.Random) -> str:
    key = _dataset(tree, rng)
    name = rng.choice(sorted(tree.images[key]))
    tree.datasets[key]["spec"].setdefault("captions", {})[name] = f"caption {rng.randrange(99)}"
    return f"caption {name} in {key[1]}"


def clear_caption(tree: ManifestTree, rng: random.Random) -> str:
    key = _dataset(tree, rng)
    captions = tree.datasets[key]["spec"].get("captions") or {}
    if not captions:
        return "noop"
    captions.pop(rng.choice(sorted(captions)))
    return f"automatic caption in {key[1]}"


def change_prefix(tree: ManifestTree, rng: random.Random) -> str:
    key = _dataset(tree, rng)
    tree.datasets[key]["spec"]["caption_prefix"] = f"A picture number {rng.randrange(99)},"
    return f"prefix of {key[1]}"


def complete_draft(tree: ManifestTree, rng: random.Random) -> str:
    drafts = [k for k, d in sorted(tree.datasets.items()) if d["spec"]["status"] == "draft"]
    if not drafts:
        return "noop"
    key = rng.choice(drafts)
    tree.datasets[key]["spec"]["status"] = "completed"
    return f"complete {key[1]}"


def switch_version(tree: ManifestTree, rng: random.Random) -> str:
    candidates = [k for k in sorted(tree.models) if k[0] == "lora"]  # max needs illustration
    key = rng.choice(candidates)
    spec = tree.models[key]["spec"]
    spec["training_version"] = "max" if spec["training_version"] == "light" else "light"
    return f"training_version of {key[1]}"


EDITS: list[Edit] = [
    add_image, remove_image, change_image, set_caption, clear_caption, change_prefix,
    complete_draft, switch_version,
]  # fmt: skip


def expected(tree: ManifestTree) -> dict[str, Any]:
    shape = declared_shape(tree)
    for project in shape.values():
        drafts = {n for n, d in project["datasets"].items() if d["status"] == "draft"}
        project["models"] = {
            n: m for n, m in project["models"].items() if m["dataset"] not in drafts
        }
    return shape


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds())
def test_random_edit_chains_converge_exactly(world: World, seed: int) -> None:
    rng = random.Random(seed)
    world.tree = example_like_tree(world.root, lora_images=4, icon_images=3)
    world.tree.dataset("acme-icons", "sketches", image_files(2, prefix="sk", first_seed=300),
                       status="draft")  # fmt: skip
    history: list[str] = []
    for _round in range(3):
        if _round:
            history += [rng.choice(EDITS)(world.tree, rng) for _ in range(rng.randint(1, 3))]
        world.apply("--prune")
        replan = world.plan("--prune", "--detailed-exitcode")
        assert replan.exit_code == 0, (history, replan.output)
        state = world.raw_state()
        assert duplicates(state) == [], history
        want = expected(world.tree)
        assert current_shape(state, want) == want, history
        # pruned: exactly one version of everything
        assert len(state["datasets"]) == sum(len(p["datasets"]) for p in want.values())


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds(default=()))
def test_random_edit_chains_under_faults_converge_exactly(world: World, seed: int) -> None:
    from e2e_support import set_knobs

    rng = random.Random(seed)
    world.tree = example_like_tree(world.root, lora_images=4, icon_images=3)
    history: list[str] = []
    for round_number in range(3):
        if round_number:
            history += [rng.choice(EDITS)(world.tree, rng) for _ in range(rng.randint(1, 3))]
        world.tree.write()
        set_knobs(world.server, failure_rate=0.1, lost_response_rate=0.15, rate_limit_every=9,
                  retry_after=0.01, seed=seed * 7 + round_number)  # fmt: skip
        for _attempt in range(10):
            result = world.cli("apply", "manifests", "--auto-approve", "--prune")
            assert "internal error" not in result.output, result.output
            if result.exit_code == 0:
                break
        assert result.exit_code == 0, (history, result.output[-3000:])
        set_knobs(world.server, failure_rate=0.0, lost_response_rate=0.0, rate_limit_every=0)
        assert world.plan("--prune", "--detailed-exitcode").exit_code == 0, history
        state = world.raw_state()
        assert duplicates(state) == [], history
        want = expected(world.tree)
        assert current_shape(state, want) == want, history
