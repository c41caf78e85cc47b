"""When apply's re-hash of an image disagrees with the plan, the digest cache entry that fed the
plan is dropped and apply plans again from the file as it is (issue 8 item 10); a saved plan
stops instead, and "plan --out" again reads the file anew rather than repeating the stale digest.
The cache is poisoned directly: with inode and ctime in its key, no ordinary rewrite can make it
lie any more.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import World, assert_converged_exactly, make_world
from manifest_builders import standard_tree

from reconciler.manifest.digests import CACHE_FILE


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def _poison_one_cached_digest(world: World) -> tuple[Path, str, Path]:
    """Plan (filling the cache), then make the cache lie about one image's digest."""
    world.tree = standard_tree(world.root, images=2)
    world.tree.write()
    folder = world.root / "manifests" / "images" / "lora" / "lora-v1"
    for path in folder.iterdir():  # old enough to be cached (racy files are not)
        info = path.stat()
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns - 3600 * 10**9))
    assert world.plan().exit_code == 0
    cache = world.root / ".reconciler" / "cache" / CACHE_FILE
    data = json.loads(cache.read_text())
    poisoned = str((folder / "lora-02.png").resolve())
    data["images"][poisoned]["sha256"] = "ab" * 32
    cache.write_text(json.dumps(data))
    return folder / "lora-02.png", poisoned, cache


def test_a_disagreeing_rehash_makes_apply_plan_again_and_converge(world: World) -> None:
    image, poisoned, cache = _poison_one_cached_digest(world)

    applied = world.cli("apply", "manifests", "--auto-approve")

    assert applied.exit_code == 0, applied.output
    assert f"then '{poisoned}' turned out to differ from the plan" in applied.output
    assert "planning again" in applied.output
    assert "Apply complete" in applied.output
    real = hashlib.sha256(image.read_bytes()).hexdigest()
    assert json.loads(cache.read_text())["images"][poisoned]["sha256"] == real
    assert_converged_exactly(world)


def test_with_a_saved_plan_a_disagreeing_rehash_stops_and_the_next_plan_reads_the_file(
    world: World,
) -> None:
    image, poisoned, cache = _poison_one_cached_digest(world)
    assert world.plan("--out", "stale.plan.json").exit_code == 0

    failed = world.cli("apply", "--plan", "stale.plan.json", "--auto-approve")

    assert failed.exit_code == 1
    assert "changed since the plan was made" in failed.output
    assert "with a saved plan: run plan --out again first" in failed.output
    assert "planning again" not in failed.output
    assert poisoned not in json.loads(cache.read_text())["images"]
    replanned = world.plan("--out", "again.plan.json")
    assert replanned.exit_code == 0, replanned.output
    real = hashlib.sha256(image.read_bytes()).hexdigest()
    saved = (world.root / "again.plan.json").read_text()
    assert real in saved  # the next plan uploads the file's real content ...
    assert "ab" * 32 not in saved  # ... and never the digest the cache lied about
    world.apply()
    assert_converged_exactly(world)
