"""End to end: adopting a console-made account, by import or by hand-written manifests.

After either road the next plan is empty (no clone, no upload, no retraining) and `apply` writes
nothing to Bria; one edit then plans exactly one change, and a content change of an adopted file
is detected through the adoption lock committed beside the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_account import (
    FOLDERS,
    LORA,
    WIP_PREFIX,
    build_console_data,
    console_emulator,
    new_requests,
    request_counts,
)
from e2e_support import run
from manifest_builders import ManifestTree, png_bytes

from reconciler.emulator.server import EmulatorServer

CAVEAT = "Bria re-encodes uploads, so their content cannot be compared"


@pytest.fixture(scope="module")
def console_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console account, built once for this module; each test gets its own copy."""
    return build_console_data(tmp_path_factory.mktemp("console") / "emu")


@pytest.fixture
def console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, console_data: Path
) -> Iterator[EmulatorServer]:
    monkeypatch.chdir(tmp_path)
    with console_emulator(console_data, tmp_path) as server:
        yield server


def plan_json(server: EmulatorServer, path: str) -> dict[str, Any]:
    result = run(server, "plan", path, "--format", "json")
    assert result.exit_code == 0, result.output
    start = result.output.index("{")
    loaded: dict[str, Any] = json.loads(result.output[start : result.output.rindex("}") + 1])
    return loaded


def changes(plan: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(address, action, operation kinds) of every change that is not a no-op."""
    return [
        (c["address"], c["action"], [op["op"] for op in c["operations"]])
        for c in plan["changes"]
        if c["action"] != "noop"
    ]


def reasons(plan: dict[str, Any]) -> dict[str, str]:
    return {c["address"]: c["reason"] for c in plan["changes"]}


def assert_empty_plan_and_no_write(server: EmulatorServer, path: str) -> None:
    before = request_counts(server)
    plan = run(server, "plan", path, "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    apply = run(server, "apply", path, "--auto-approve")
    assert apply.exit_code == 0, apply.output
    requests = new_requests(before, request_counts(server))
    assert all(route.startswith("GET ") for route in requests), requests


# ---------------------------------------------------------------- import


def test_right_after_import_the_plan_is_empty_and_apply_writes_nothing(
    console: EmulatorServer,
) -> None:
    imported = run(console, "import", "--out", "imported")
    assert imported.exit_code == 0, imported.output
    before = {p: p.read_bytes() for p in Path("imported").rglob("*") if p.is_file()}
    assert_empty_plan_and_no_write(console, "imported")
    after = {p: p.read_bytes() for p in Path("imported").rglob("*") if p.is_file()}
    assert after == before  # the lock was complete: apply recorded nothing new
    why = reasons(plan_json(console, "imported"))
    assert why["dataset.lora/chars"] == (
        f"dataset 'chars' matches the manifest (completed); adopts 6 images by name; {CAVEAT}; "
        "what it trusted is recorded in 'imported/lora/datasets/chars.adopted.json'"
    )
    assert why["model.lora/chars-light"] == "trained (Completed) on dataset 'chars'"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            "caption",
            [("dataset.lora/wip", "update", ["SetCaption"])],
        ),
        (
            "add-image",
            [("dataset.lora/wip", "update", ["UploadImage"])],
        ),
        (
            "content",
            [("dataset.lora/wip", "update", ["DeleteImage", "UploadImage"])],
        ),
        (
            "model",
            [("model.lora/chars-max", "update", ["UpdateModel"])],
        ),
    ],
)
def test_after_import_one_edit_plans_exactly_one_change(
    console: EmulatorServer, edit: str, expected: list[tuple[str, str, list[str]]]
) -> None:
    assert run(console, "import", "--out", "imported").exit_code == 0
    wip = Path("imported/lora/datasets/wip")
    if edit == "caption":
        (wip / "sketch-1.txt").write_text("Lora sketching at dawn\n")
    elif edit == "add-image":
        (wip / "sketch-4.png").write_bytes(png_bytes(204))
    elif edit == "content":
        (wip / "sketch-2.png").write_bytes(png_bytes(999))
    else:
        model = Path("imported/lora/models/chars-max.yaml")
        model.write_text(model.read_text() + "  description: the best one\n")
    plan = plan_json(console, "imported")
    assert changes(plan) == expected
    if edit in ("caption", "content"):  # the review knows the adopted images as kept/changed
        wip_change = next(c for c in plan["changes"] if c["address"] == "dataset.lora/wip")
        review = {i["file"]: i for i in wip_change["images"]}
        assert sorted(review) == ["sketch-1.png", "sketch-2.png", "sketch-3.png"]
        assert review["sketch-3.png"]["state"] == "kept"
        if edit == "caption":
            assert review["sketch-1.png"] == {
                "file": "sketch-1.png",
                "state": "kept",
                "path": str((wip / "sketch-1.png").resolve()),
                "caption_before": "Lora sketching",
                "source_before": "manual",
                "caption_after": "Lora sketching at dawn",
                "source_after": "manual",
                "caption_changed": True,
            }
            text = run(console, "plan", "imported").output
            assert '- "Lora sketching"' in text and '+ "Lora sketching at dawn"' in text
        else:
            assert review["sketch-2.png"]["state"] == "changed"
    applied = run(console, "apply", "imported", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    replan = run(console, "plan", "imported", "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output


# ---------------------------------------------------------------- hand-written


def hand_written(root: Path) -> ManifestTree:
    """The manifests a team would write over the folders it uploaded in the console."""
    tree = ManifestTree(root)
    tree.project("lora", description=LORA["project_description"])
    tree.project(
        "scenes", ip_type="stylized_scene", ip_medium="photography", ip_name=None,
        ip_description=None, adopt=True,
    )  # fmt: skip
    for (project, name), files in FOLDERS.items():
        captions = {file: caption for file, (_, caption) in files.items() if caption}
        tree.dataset(
            project,
            name,
            {file: seed for file, (seed, _) in files.items()},
            captions=captions,
            caption_prefix=WIP_PREFIX if name == "wip" else None,
            status="draft" if name == "wip" else "completed",
            adopt=True,
        )
    tree.model("lora", "chars-light", "chars", description="the fast one")
    tree.model("lora", "chars-max", "chars", training_version="max", adopt=True)
    tree.model("scenes", "streets-light", "streets")
    return tree


def test_hand_written_manifests_with_adopt_plan_empty_and_apply_records_the_lock(
    console: EmulatorServer, tmp_path: Path
) -> None:
    tree = hand_written(tmp_path)
    tree.write()
    plan = plan_json(console, "manifests")
    assert changes(plan) == []
    why = reasons(plan)
    assert why["dataset.lora/chars"] == (
        f"dataset 'chars' matches the manifest (completed); adopts 6 images by name; {CAVEAT}; "
        "apply records what it trusted in 'manifests/lora.adopted.json' (commit it)"
    )
    assert not Path("manifests/lora.adopted.json").exists()  # plan writes nothing
    assert_empty_plan_and_no_write(console, "manifests")
    lock = json.loads(Path("manifests/lora.adopted.json").read_text())
    assert sorted(lock["datasets"]) == ["lora/chars", "lora/wip"]
    assert sorted(lock["datasets"]["lora/wip"]["images"]) == [
        "sketch-1.png",
        "sketch-2.png",
        "sketch-3.png",
    ]
    assert sorted(json.loads(Path("manifests/scenes.adopted.json").read_text())["datasets"]) == [
        "scenes/streets"
    ]
    again = reasons(plan_json(console, "manifests"))
    assert again["dataset.lora/wip"] == (
        f"dataset 'wip' matches the manifest (draft); adopts 3 images by name; {CAVEAT}; "
        "what it trusted is recorded in 'manifests/lora.adopted.json'"
    )


def test_after_hand_written_adoption_a_content_change_is_one_change(
    console: EmulatorServer, tmp_path: Path
) -> None:
    tree = hand_written(tmp_path)
    tree.write()
    assert run(console, "apply", "manifests", "--auto-approve").exit_code == 0  # records
    tree.images[("lora", "wip")]["sketch-3.png"] = 777  # new content, same name
    tree.write()
    plan = plan_json(console, "manifests")
    assert changes(plan) == [("dataset.lora/wip", "update", ["DeleteImage", "UploadImage"])]
    assert "replace 1 image with new content" in reasons(plan)["dataset.lora/wip"]
    assert run(console, "apply", "manifests", "--auto-approve").exit_code == 0
    replan = run(console, "plan", "manifests", "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output
    lock = json.loads(Path("manifests/lora.adopted.json").read_text())
    # sketch-3.png now carries its digest in its remote name: the lock no longer needs it
    assert sorted(lock["datasets"]["lora/wip"]["images"]) == ["sketch-1.png", "sketch-2.png"]


def test_without_adopt_the_same_manifests_would_clone_and_retrain(
    console: EmulatorServer, tmp_path: Path
) -> None:
    tree = hand_written(tmp_path)
    for doc in tree.datasets.values():
        doc["metadata"].pop("adopt")
    tree.write()
    plan = plan_json(console, "manifests")
    actions = {address: action for address, action, _ in changes(plan)}
    assert actions["dataset.lora/chars"] == "clone"
    assert actions["model.lora/chars-light"] == "replace"


def test_a_saved_plan_records_the_adoption_when_applied(
    console: EmulatorServer, tmp_path: Path
) -> None:
    hand_written(tmp_path).write()
    saved = run(console, "plan", "manifests", "--out", "plan.json")
    assert saved.exit_code == 0, saved.output
    updates = json.loads(Path("plan.json").read_text())["lock_updates"]
    assert [u["dataset"] for u in updates] == ["lora/chars", "lora/wip", "scenes/streets"]
    assert not Path("manifests/lora.adopted.json").exists()
    applied = run(console, "apply", "--plan", "plan.json")
    assert applied.exit_code == 0, applied.output
    assert "recorded 9 adopted images in manifests/lora.adopted.json (commit it)" in applied.output
    assert Path("manifests/scenes.adopted.json").exists()


def test_a_broken_adoption_lock_is_a_located_error(console: EmulatorServer, tmp_path: Path) -> None:
    hand_written(tmp_path).write()
    Path("manifests/lora.adopted.json").write_text('{"format": "something else"}')
    result = run(console, "validate", "manifests")
    assert result.exit_code == 1
    assert (
        "manifests/lora.yaml:17:3: error: dataset 'chars' is adopted, but its adoption lock "
        "'manifests/lora.adopted.json' cannot be used: field 'format' must be "
        "'reconciler-adoption/v1'" in result.output
    )


def test_after_import_a_caption_edit_in_a_completed_dataset_clones_it_like_any_other(
    console: EmulatorServer,
) -> None:
    assert run(console, "import", "--out", "imported").exit_code == 0
    light = Path("imported/lora/models/chars-light.yaml")
    light.write_text(light.read_text().replace("  protect: true\n", ""))  # lift protection
    Path("imported/lora/datasets/chars/lora-beach.txt").write_text("Lora at the seaside\n")
    plan = plan_json(console, "imported")
    assert changes(plan) == [
        ("dataset.lora/chars", "clone", ["CloneDataset", "SetCaption", "UpdateDataset"]),
        ("model.lora/chars-light", "replace", ["CreateModel", "StartTraining"]),
        # the superseded InProgress training is stopped (issue 14's default)
        ("model.lora/chars-max", "replace", ["CreateModel", "StartTraining", "StopTraining"]),
    ]
    assert f"adopts 6 images by name; {CAVEAT}" in reasons(plan)["dataset.lora/chars"]
    max_change = next(c for c in plan["changes"] if c["address"] == "model.lora/chars-max")
    assert max_change["before"]["description"] is None  # Bria's "" is no description either
    assert run(console, "apply", "imported", "--auto-approve").exit_code == 0
    replan = run(console, "plan", "imported", "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output  # the clone's images are still adopted


# ---------------------------------------------------------------- protect


def test_an_imported_completed_model_is_protected_from_retraining_and_deletion(
    console: EmulatorServer,
) -> None:
    assert run(console, "import", "--out", "imported").exit_code == 0
    Path("imported/lora/datasets/chars/lora-beach.txt").write_text("Lora at the seaside\n")
    before = request_counts(console)
    plan = run(console, "plan", "imported")
    assert plan.exit_code == 1, plan.output
    light = Path("imported/lora/models/chars-light.yaml")
    line = light.read_text().splitlines().index("  protect: true") + 1
    assert (
        f"imported/lora/models/chars-light.yaml:{line}:3: error: model 'lora/chars-light' is "
        "protected (metadata.protect: true): the plan would replace it with a new training from "
        "scratch (dataset changed to 'chars~2'); remove metadata.protect from its manifest to let "
        "it retrain, or undo the change" in plan.output
    )
    assert "model 'lora/chars-max' is protected" not in plan.output  # InProgress: not protected
    applied = run(console, "apply", "imported", "--auto-approve")
    assert applied.exit_code == 1
    assert all(r.startswith("GET ") for r in new_requests(before, request_counts(console)))
    Path("imported/lora/datasets/chars/lora-beach.txt").write_text("Lora on a beach at sunset\n")
    light.write_text(
        light.read_text().replace("  protect: true\n", "  protect: true\n  delete: true\n")
    )
    deleting = run(console, "plan", "imported")
    assert deleting.exit_code == 1
    assert (
        "model 'lora/chars-light' is protected (metadata.protect: true): the plan refuses to "
        "delete it, and the manifest marks it for deletion; remove metadata.protect (to delete "
        "it) or metadata.delete (to keep it)" in deleting.output
    )


def test_captions_pull_knows_adopted_images_and_the_plan_stays_empty(
    console: EmulatorServer,
) -> None:
    assert run(console, "import", "--out", "imported").exit_code == 0
    pulled = run(console, "captions", "pull", "imported")
    assert pulled.exit_code == 0, pulled.output
    city = Path("imported/lora/datasets/chars/lora-city.txt").read_text()
    assert city.startswith("An illustration of a character named Lora")  # Bria's automatic one
    replan = run(console, "plan", "imported", "--detailed-exitcode")
    assert replan.exit_code == 0, replan.output
