"""End to end: `reconciler captions pull` writes Bria's current captions into sidecars beside
the local images (leaving those spec.captions gives), reads the account without writing to it,
and leaves a plan with no caption change; editing one sidecar then plans exactly that caption."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import TOKEN, World, admin, make_world
from manifest_builders import standard_tree

from reconciler.client import BriaClient

DATASET = ("lora", "lora-v1")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def folder(world: World) -> Path:
    return world.tree.manifests / "images" / "lora" / "lora-v1"


def live_captions(world: World) -> dict[str, tuple[str, str]]:
    images = world.state()["lora"]["datasets"]["lora-v1"]["images"]
    return {name.split(".")[0]: (caption, source) for name, caption, source in images}


def draft_world(world: World) -> None:
    """A draft with 3 images: lora-01's caption in spec.captions, 02 and 03 automatic."""
    world.tree = standard_tree(world.root, images=3)
    world.tree.datasets[DATASET]["spec"]["status"] = "draft"
    world.converge()


def requests_by_route(world: World) -> dict[str, int]:
    return dict(admin(world.server, "GET", "stats")["by_route"])


def test_pull_writes_automatic_captions_and_plan_then_shows_no_caption_change(
    world: World,
) -> None:
    draft_world(world)
    before = requests_by_route(world)
    pulled = world.cli("captions", "pull", "manifests")
    assert pulled.exit_code == 0, pulled.output
    after = requests_by_route(world)
    new_requests = {route: n - before.get(route, 0) for route, n in after.items()}
    assert any(n for n in new_requests.values())
    assert all(route.startswith("GET ") for route, n in new_requests.items() if n), new_requests
    captions = live_captions(world)
    for stem in ("lora-02", "lora-03"):
        assert captions[stem][1] == "automatic"
        sidecar = folder(world) / f"{stem}.txt"
        assert sidecar.read_text(encoding="utf-8") == captions[stem][0] + "\n"
        assert f"wrote {Path('manifests/images/lora/lora-v1') / (stem + '.txt')}" in pulled.output
    assert not (folder(world) / "lora-01.txt").exists()
    assert (
        "skipped lora-01.png: spec.captions gives its caption, which wins over a sidecar"
        in pulled.output
    )
    assert "Pulled captions: wrote 2 sidecars, 0 already up to date, skipped 1 image." in (
        pulled.output
    )
    # right after the pull: no change at all (the manifest otherwise matches)
    replan = world.cli("plan", "manifests", "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output
    assert "caption" not in replan.output.lower().replace("caption prefix", "")
    # a second pull finds everything up to date
    again = world.cli("captions", "pull", "manifests")
    assert "wrote 0 sidecars, 2 already up to date" in again.output


def test_editing_one_pulled_sidecar_plans_exactly_that_caption(world: World) -> None:
    draft_world(world)
    assert world.cli("captions", "pull", "manifests").exit_code == 0
    old = (folder(world) / "lora-02.txt").read_text(encoding="utf-8").strip()
    (folder(world) / "lora-02.txt").write_text("Lora waving from a red boat\n", encoding="utf-8")
    planned = world.cli("plan", "manifests", "--format", "json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    ops = [op for change in plan["changes"] for op in change["operations"]]
    assert [(op["op"], op.get("caption")) for op in ops] == [
        ("SetCaption", "Lora waving from a red boat")
    ]
    assert ops[0]["image_name"].startswith("lora-02.")
    dataset = next(c for c in plan["changes"] if c["address"] == "dataset.lora/lora-v1")
    assert dataset["after"]["caption_changes"] == ["lora-02.png"]
    assert old != "Lora waving from a red boat"


def test_a_pulled_sidecar_edit_shows_old_and_new_text_in_every_format(world: World) -> None:
    draft_world(world)
    assert world.cli("captions", "pull", "manifests").exit_code == 0
    old = (folder(world) / "lora-03.txt").read_text(encoding="utf-8").strip()
    new = old.replace("Lora,", "Lora, laughing,", 1) + " Holding a red kite."
    (folder(world) / "lora-03.txt").write_text(new + "\n", encoding="utf-8")
    out = {
        f: world.cli("plan", "manifests", "--format", f)
        for f in ("text", "json", "markdown", "html")
    }
    assert all(r.exit_code == 0 for r in out.values()), {f: r.output for f, r in out.items()}
    text = out["text"].stdout
    assert "      caption lora-03.png (automatic -> manual):\n" in text
    assert f'        - "{old}"\n        + "{new}"\n' in text
    plan = json.loads(out["json"].stdout)
    dataset = next(c for c in plan["changes"] if c["address"] == "dataset.lora/lora-v1")
    changed = [i for i in dataset["images"] if i["caption_changed"]]
    assert changed == [
        {
            "file": "lora-03.png",
            "state": "kept",
            "path": str((folder(world) / "lora-03.png").resolve()),
            "caption_before": old,
            "source_before": "automatic",
            "caption_after": new,
            "source_after": "manual",
            "caption_changed": True,
        }
    ]
    assert len(dataset["images"]) == 3
    markdown = out["markdown"].stdout
    assert "- caption diffs (1):" in markdown
    assert "  - `lora-03.png` (automatic → manual): " in markdown
    assert "**laughing,**" in markdown and "**Holding a red kite.**" in markdown
    assert f"    - was: {old}" in markdown and f"    - now: {new}" in markdown  # whole too
    page = out["html"].stdout
    assert "<ins>laughing,</ins>" in page and "<ins>Holding a red kite.</ins>" in page
    assert f"</span> {old}</p>" in page and f"</span> {new}</p>" in page  # whole too
    assert '<span class="tag source automatic">automatic</span> → ' in page


def test_pull_of_one_dataset_and_of_an_undeclared_one(world: World) -> None:
    draft_world(world)
    world.tree.dataset("lora", "lora-new", {"new-01.png": 90}, status="draft")
    world.tree.write()
    pulled = world.cli("captions", "pull", "manifests", "--dataset", "lora/lora-new")
    assert pulled.exit_code == 0, pulled.output
    assert "dataset lora/lora-new: skipped: it is not in Bria yet: nothing to pull" in (
        pulled.output
    )
    assert "lora/lora-v1" not in pulled.output
    assert not list(folder(world).glob("*.txt"))
    wrong = world.cli("captions", "pull", "manifests", "--dataset", "lora/lora-v2")
    assert wrong.exit_code == 1
    assert "--dataset 'lora/lora-v2' is not declared in the manifests (did you mean" in (
        wrong.output
    )
    assert "Traceback" not in wrong.output


def test_pull_from_a_completed_dataset_skips_a_file_that_changed(world: World) -> None:
    world.tree = standard_tree(world.root, images=3)
    world.converge()
    world.tree.images[DATASET]["lora-03.png"] = 303  # new content, not in Bria yet
    world.tree.write()
    pulled = world.cli("captions", "pull", "manifests")
    assert pulled.exit_code == 0, pulled.output
    assert "(version 'lora-v1', completed)" in pulled.output
    assert "wrote" in pulled.output and (folder(world) / "lora-02.txt").exists()
    assert (
        "skipped lora-03.png: the local file differs from the one in Bria (plan would upload it)"
        in pulled.output
    )
    assert not (folder(world) / "lora-03.txt").exists()


def test_a_caption_a_sidecar_cannot_hold_is_skipped(world: World) -> None:
    draft_world(world)
    with BriaClient(world.server.url, TOKEN) as client:
        project = next(p for p in client.list_projects() if p.project_name == "lora")
        dataset = next(d for d in client.list_project_datasets(project.id))
        image = next(i for i in client.list_images(dataset.id) if "lora-02" in i.image_name)
        client.update_image_caption(dataset.id, image.id, caption="Lora \x1b]8;;http://x\x07")
    pulled = world.cli("captions", "pull", "manifests")
    assert pulled.exit_code == 0, pulled.output
    assert (
        "skipped lora-02.png: Bria's caption contains the control character \\x1b, which a "
        "caption file cannot hold: fix the caption in the console" in pulled.output
    )
    assert "\x1b" not in pulled.output
    assert not (folder(world) / "lora-02.txt").exists()
    assert (folder(world) / "lora-03.txt").exists()
    assert world.cli("validate", "manifests").exit_code == 0
