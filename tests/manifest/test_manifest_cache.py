"""The image digest cache: a warm no-change run reads no image bytes, and a broken cache is
only ever a slower run.

"Reads no bytes" is proven two ways, without monkeypatching: the loader's own statistics, and
by replacing an image's content while keeping its size and mtime (os.utime), after which the
cached digest (of the old content) is still what the loader reports.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from test_manifest_support import PROJECT, add_images, image_bytes, make_repo, write

from reconciler.manifest import LoadResult, load_manifests
from reconciler.manifest.digests import CACHE_FILE, CACHE_VERSION

DATASET = """\
---
apiVersion: tailored-gen/v1
kind: Dataset
metadata: {name: lora-v1, project: lora}
spec: {images: images}
"""
AN_HOUR_AGO = 3600


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_repo(tmp_path)
    write(tmp_path / "m.yaml", PROJECT + DATASET)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def age(paths: list[Path], seconds: int = AN_HOUR_AGO) -> None:
    """Backdate files: the cache ignores files modified in the last two seconds (racy)."""
    for path in paths:
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 10**9))


def run(cache: Path) -> LoadResult:
    result = load_manifests(["m.yaml"], cache_dir=cache)
    assert result.ok, [str(d) for d in result.diagnostics]
    return result


def digests(result: LoadResult) -> list[str]:
    return [i.digest for i in result.state.datasets[0].images]


def test_warm_run_reads_no_image_bytes(repo: Path) -> None:
    paths = add_images(repo / "images", 12)
    age(paths)
    cache = repo / ".reconciler" / "cache"

    cold = run(cache)
    warm = run(cache)

    assert (cold.image_stats.files_read, cold.image_stats.cache_hits) == (12, 0)
    assert cold.image_stats.bytes_read == sum(p.stat().st_size for p in paths)
    assert (warm.image_stats.files_read, warm.image_stats.bytes_read) == (0, 0)
    assert warm.image_stats.cache_hits == 12
    assert warm.state == cold.state


@pytest.mark.parametrize("how", ["rewrite", "replace"], ids=["cp-p", "rsync-t"])
def test_a_same_size_rewrite_with_the_mtime_kept_is_read_again(repo: Path, how: str) -> None:
    """`cp -p`, `rsync -t` and archive extraction keep size and mtime; the inode or the ctime
    (which no tool can set back) still changes, so the new content is hashed."""
    (path,) = add_images(repo / "images", 1)
    age([path])
    cache = repo / ".reconciler" / "cache"
    run(cache)
    assert run(cache).image_stats.cache_hits == 1

    stat = path.stat()
    new = image_bytes()
    new = new[: stat.st_size].ljust(stat.st_size, b"\x00") if len(new) != stat.st_size else new
    if how == "rewrite":
        path.write_bytes(new)  # same inode, new ctime
    else:
        other = path.with_name(".tmp-rsync")
        other.write_bytes(new)
        os.replace(other, path)  # a new inode
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    changed = load_manifests(["m.yaml"], cache_dir=cache)

    assert changed.image_stats.files_read == 1
    assert changed.image_stats.cache_hits == 0
    if changed.ok:
        assert digests(changed) == [hashlib.sha256(new).hexdigest()]


def test_cached_facts_keep_the_image_checks(repo: Path) -> None:
    """Transparency is a cached fact: the warning survives a warm run that opens no file."""
    folder = repo / "images"
    folder.mkdir()
    (folder / "clear.png").write_bytes(image_bytes(mode="RGBA", alpha=10))
    age([folder / "clear.png"])
    cache = repo / ".reconciler" / "cache"

    cold = run(cache)
    warm = run(cache)

    assert warm.image_stats.files_read == 0
    assert [d.message for d in warm.warnings] == [d.message for d in cold.warnings]
    assert "has transparency" in warm.warnings[0].message


def test_fresh_files_are_not_trusted_to_the_cache(repo: Path) -> None:
    add_images(repo / "images", 2)  # modified just now: a same-tick rewrite could go unseen
    cache = repo / ".reconciler" / "cache"

    run(cache)
    second = run(cache)

    assert second.image_stats.files_read == 2


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"version": 99, "images": {}}',
        b'{"version": 1, "images": []}',
        b'{"version": 1, "images": {"/x": {"size": "1"}}}',
        b"\xff\xfe\x00",
    ],
    ids=["syntax", "list", "version", "images-list", "bad-entry", "binary"],
)
def test_a_corrupt_cache_is_ignored_and_rewritten(repo: Path, content: bytes) -> None:
    paths = add_images(repo / "images", 2)
    age(paths)
    cache = repo / ".reconciler" / "cache"
    cache.mkdir(parents=True)
    (cache / CACHE_FILE).write_bytes(content)

    first = run(cache)
    second = run(cache)

    assert first.image_stats.files_read == 2
    assert second.image_stats.cache_hits == 2
    stored = json.loads((cache / CACHE_FILE).read_text())
    assert stored["version"] == CACHE_VERSION
    assert sorted(stored["images"]) == sorted(str(p.resolve()) for p in paths)


def test_cache_is_written_atomically_and_only_when_changed(repo: Path) -> None:
    paths = add_images(repo / "images", 2)
    age(paths)
    cache = repo / ".reconciler" / "cache"
    run(cache)
    written = (cache / CACHE_FILE).stat().st_mtime_ns
    os.utime(cache / CACHE_FILE, ns=(written - 10**9, written - 10**9))

    run(cache)

    assert os.listdir(cache) == [CACHE_FILE]  # no temp file left behind
    assert (cache / CACHE_FILE).stat().st_mtime_ns == written - 10**9  # untouched: no change


def test_entries_of_deleted_files_are_dropped(repo: Path) -> None:
    paths = add_images(repo / "images", 3)
    age(paths)
    cache = repo / ".reconciler" / "cache"
    run(cache)
    paths[0].unlink()
    extra = add_images(repo / "images", 1, "new")
    age(extra)

    run(cache)

    stored = json.loads((cache / CACHE_FILE).read_text())["images"]
    assert sorted(stored) == sorted(str(p.resolve()) for p in [*paths[1:], *extra])


def test_an_unwritable_cache_dir_is_not_fatal(repo: Path) -> None:
    paths = add_images(repo / "images", 1)
    age(paths)
    (repo / "blocker").write_text("a file where the cache folder should be")

    result = run(repo / "blocker" / "cache")

    assert result.ok


@pytest.mark.parametrize(
    "poison",
    [{"format": "GIF"}, {"sha256": "z" * 64}, {"width": "1024"}, {"has_alpha": "no"}],
    ids=["format", "digest", "width", "alpha"],
)
def test_a_poisoned_entry_for_a_real_image_is_read_again(
    repo: Path, poison: dict[str, object]
) -> None:
    (path,) = add_images(repo / "images", 1)
    age([path])
    cache = repo / ".reconciler" / "cache"
    run(cache)
    stored = json.loads((cache / CACHE_FILE).read_text())
    stored["images"][str(path.resolve())].update(poison)
    (cache / CACHE_FILE).write_text(json.dumps(stored))

    result = run(cache)

    assert result.image_stats.files_read == 1
    assert digests(result) == [hashlib.sha256(path.read_bytes()).hexdigest()]
