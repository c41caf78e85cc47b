"""When apply's re-hash of an image disagrees with the plan, the digest cache entry that fed the
plan is dropped, so "run plan again" reads the file anew instead of repeating the stale digest
(issue 8 item 10). The cache is poisoned directly: with inode and ctime in its key, no ordinary
rewrite can make it lie any more.
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


def test_a_disagreeing_rehash_drops_the_cache_entry_and_the_next_run_converges(
    world: World,
) -> None:
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

    failed = world.cli("apply", "manifests", "--auto-approve")

    assert failed.exit_code == 1
    assert "changed since the plan was made" in failed.output
    assert (
        "Its cached digest is dropped, so the next plan reads the file anew: run apply again"
        in (failed.output)
    )
    assert poisoned not in json.loads(cache.read_text())["images"]
    replanned = world.plan("--out", "again.plan.json")
    assert replanned.exit_code == 0, replanned.output
    real = hashlib.sha256((folder / "lora-02.png").read_bytes()).hexdigest()
    saved = (world.root / "again.plan.json").read_text()
    assert real in saved  # the next plan uploads the file's real content ...
    assert "ab" * 32 not in saved  # ... and never the digest the cache lied about
    world.apply()
    assert_converged_exactly(world)
