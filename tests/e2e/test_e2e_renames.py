"""End to end: a rename made in a manifest reads "renamed in the manifest from 'old' to 'new':
rename it in Bria" and is not drift; a rename made in Bria's console is drift ("rename it
back"). Either way apply renames the live resource (same id), trains nothing and converges."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import World, make_world
from manifest_builders import standard_tree


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def rename_dataset(world: World, old: str, new: str) -> None:
    doc = world.tree.datasets.pop(("lora", old))
    doc["metadata"]["name"] = new
    doc["spec"]["images"] = f"images/lora/{new}"
    world.tree.datasets[("lora", new)] = doc
    world.tree.images[("lora", new)] = world.tree.images.pop(("lora", old))
    for model in world.tree.models.values():
        if model["spec"]["dataset"] == old:
            model["spec"]["dataset"] = new


def planned(world: World, address: str) -> tuple[str, dict[str, Any]]:
    text = world.plan()
    assert text.exit_code == 0, text.output
    data = json.loads(world.plan("--format", "json").stdout)
    change = next(c for c in data["changes"] if c["address"] == address)
    return text.output, change


def ids(world: World, kind: str) -> dict[str, int]:
    return {row.get("name") or row["project_name"]: row["id"] for row in world.raw_state()[kind]}


def test_a_dataset_renamed_in_the_manifest_is_renamed_in_bria(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.converge()
    before = ids(world, "datasets")["lora-v1"]
    rename_dataset(world, "lora-v1", "lora-main")
    output, change = planned(world, "dataset.lora/lora-main")
    note = (
        "dataset 'lora-main' was renamed in the manifest from 'lora-v1' to 'lora-main': "
        "rename it in Bria"
    )
    assert note in output
    assert change["reason"] == note and change["drift"] is False
    assert "renamed in the console" not in output and "[drift" not in output
    assert [op["op"] for op in change["operations"]] == ["UpdateDataset"]
    world.converge()
    assert ids(world, "datasets") == {"lora-main": before}
    assert [m["status"] for m in world.raw_state()["models"]].count("Deleted") == 0


def test_a_model_renamed_in_the_manifest_is_renamed_without_retraining(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.converge()
    doc = world.tree.models.pop(("lora", "lora-light"))
    doc["metadata"]["name"] = "lora-fast"
    world.tree.models[("lora", "lora-fast")] = doc
    output, change = planned(world, "model.lora/lora-fast")
    note = (
        "model 'lora-fast' was renamed in the manifest from 'lora-light' to 'lora-fast': "
        "rename it in Bria"
    )
    assert change["reason"] == note and change["drift"] is False and note in output
    assert [op["op"] for op in change["operations"]] == ["UpdateModel"]
    assert "to replace (retrain)" in output and "0 to replace" in output
    world.converge()
    assert [m["name"] for m in world.raw_state()["models"]] == ["lora-fast"]


def test_a_project_renamed_in_the_manifest_is_renamed_in_bria(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.converge()
    project_id = ids(world, "projects")["lora"]
    tree = world.tree
    doc = tree.projects.pop("lora")
    doc["metadata"]["name"] = "lora-brand"
    tree.projects["lora-brand"] = doc
    for key in list(tree.datasets):
        tree.datasets[("lora-brand", key[1])] = tree.datasets.pop(key)
        tree.datasets[("lora-brand", key[1])]["metadata"]["project"] = "lora-brand"
        tree.datasets[("lora-brand", key[1])]["spec"]["images"] = f"images/lora-brand/{key[1]}"
        tree.images[("lora-brand", key[1])] = tree.images.pop(key)
    for key in list(tree.models):
        tree.models[("lora-brand", key[1])] = tree.models.pop(key)
        tree.models[("lora-brand", key[1])]["metadata"]["project"] = "lora-brand"
    output, change = planned(world, "project.lora-brand")
    note = (
        "project 'lora-brand' was renamed in the manifest from 'lora' to 'lora-brand': "
        "rename it in Bria"
    )
    assert change["reason"] == note and change["drift"] is False and note in output
    world.converge()
    assert ids(world, "projects") == {"lora-brand": project_id}


def test_a_console_rename_is_drift_even_to_a_name_a_manifest_could_hold(world: World) -> None:
    world.tree = standard_tree(world.root, images=2)
    world.tree.models.clear()
    world.converge()
    with world.client() as client:
        dataset = client.list_datasets()[0]
        client.update_dataset(dataset.id, name="renamed-in-console")
    output, change = planned(world, "dataset.lora/lora-v1")
    note = (
        "dataset 'lora-v1' was renamed in the console from 'lora-v1' to 'renamed-in-console': "
        "rename it back"
    )
    assert change["reason"] == note and change["drift"] is True
    assert "[drift: changed outside the manifests]" in output
    world.converge()
    assert ids(world, "datasets") == {"lora-v1": dataset.id}


def test_a_manifest_rename_in_a_fresh_clone_is_still_the_manifests(world: World) -> None:
    """No local history (a CI checkout): the old name is one a manifest held, so the manifest
    renamed it; a console-style name (spaces, brackets) is the console's."""
    world.tree = standard_tree(world.root, images=2)
    world.tree.models.clear()
    world.converge()
    assert (world.root / ".reconciler" / "names.json").exists()  # written by apply
    (world.root / ".reconciler" / "names.json").unlink()
    rename_dataset(world, "lora-v1", "lora-main")
    _, change = planned(world, "dataset.lora/lora-main")
    assert change["drift"] is False and "renamed in the manifest" in change["reason"]
    (world.root / ".reconciler" / "names.json").unlink(missing_ok=True)
    with world.client() as client:
        dataset = client.list_datasets()[0]
        client.update_dataset(dataset.id, name="Lora main (copy)")
    _, change = planned(world, "dataset.lora/lora-main")
    assert change["drift"] is True and "renamed in the console" in change["reason"]
