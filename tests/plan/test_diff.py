"""Diff details the JSON cases do not show well: image matching by (file name, digest), the
200-image limit, duplicate live names, several projects, and the errors for states the
validator or the live reader should have prevented."""

from __future__ import annotations

from typing import Any

from planner_cases.builders import desired_image, desired_state, live_state, step_line

from reconciler.diff import diff_states
from reconciler.diff.images import compare_images
from reconciler.plan import build_plan
from reconciler.state import DesiredDataset, LiveImage

PROJECT = {"name": "lora"}


def dataset(images: list[Any], **fields: Any) -> dict[str, Any]:
    return {"project": "lora", "name": "lora-v1", "images": images, **fields}


def live_project(datasets: list[Any]) -> dict[str, Any]:
    return {"projects": [{"id": 1, "project_name": "lora", "datasets": datasets}]}


def test_images_match_by_file_name_and_digest_and_keep_one_copy() -> None:
    desired = DesiredDataset(
        "lora",
        "lora-v1",
        tuple(desired_image(i) for i in ["a.png", {"file": "b.png", "content": "new"}]),
    )
    a = desired.images[0]
    a_name = f"a.{a.digest[:16]}.png"
    live = [
        LiveImage(1, a_name, "x", "automatic"),
        LiveImage(2, a_name, "x", "automatic"),  # the same file twice
        LiveImage(3, f"b.{'0' * 16}.png", "y", "automatic"),  # old content of b.png
        LiveImage(4, "photo.jpg", None, None),  # not uploaded by the reconciler
    ]
    edits = compare_images(desired, live, None)
    assert edits.deletes == [a_name, f"b.{'0' * 16}.png", "photo.jpg"]
    assert [image.file_name for image in edits.uploads] == ["b.png"]
    assert (edits.added, edits.changed, edits.removed) == ([], ["b.png"], [a_name, "photo.jpg"])
    assert edits.unrecognised == ["photo.jpg"]
    assert edits.kept_count == 1
    assert edits.new_prefix is None and not edits.set_captions and not edits.regenerate


def test_uploads_wait_for_deletes_only_when_the_200_image_limit_could_be_hit() -> None:
    def plan_for(kept: int, swapped: int) -> list[str]:
        live_images = [f"k{n:03d}.png" for n in range(kept + swapped)]
        wanted = live_images[:kept] + [f"n{n:03d}.png" for n in range(swapped)]
        desired = {"projects": [PROJECT], "datasets": [dataset(wanted, status="draft")]}
        live = live_project(
            [{"id": 10, "name": "lora-v1", "status": "draft", "images": live_images}]
        )
        return [step_line(s) for s in build_plan(desired_state(desired), live_state(live)).steps]

    small = plan_for(kept=10, swapped=2)
    assert [line for line in small if "UploadImage" in line] == [
        "s003 UploadImage lora/lora-v1#10 n000.png",
        "s004 UploadImage lora/lora-v1#10 n001.png",
    ]
    full = plan_for(kept=198, swapped=2)
    assert [line for line in full if "UploadImage" in line] == [
        "s003 UploadImage lora/lora-v1#10 n000.png <- s001 s002",
        "s004 UploadImage lora/lora-v1#10 n001.png <- s001 s002",
    ]


def test_two_live_datasets_with_one_name_get_distinct_addresses() -> None:
    desired = {"projects": [PROJECT], "datasets": [dataset(["a.png"])]}
    live = live_project(
        [
            {"id": 10, "name": "scratch", "images": None},
            {"id": 11, "name": "scratch", "images": None},
            {"id": 12, "name": "lora-v1", "images": ["a.png"]},
        ]
    )
    plan = build_plan(desired_state(desired), live_state(live), prune=True)
    assert [(c.address, c.action) for c in plan.changes] == [
        ("project.lora", "noop"),
        ("dataset.lora/lora-v1", "noop"),
        ("dataset.lora/scratch", "delete"),
        ("dataset.lora/scratch#11", "delete"),
    ]
    assert [step_line(s) for s in plan.steps] == [
        "s001 DeleteDataset lora/scratch#10",
        "s002 DeleteDataset lora/scratch#11",
    ]


def test_projects_are_planned_one_after_the_other_in_name_order() -> None:
    desired = {
        "projects": [{"name": "zeta"}, {"name": "alpha"}],
        "datasets": [
            {"project": "zeta", "name": "z", "images": ["a.png"], "status": "draft"},
            {"project": "alpha", "name": "a", "images": ["a.png"], "status": "draft"},
        ],
    }
    plan = build_plan(desired_state(desired), live_state({}))
    assert [c.address for c in plan.changes] == [
        "project.alpha",
        "dataset.alpha/a",
        "project.zeta",
        "dataset.zeta/z",
    ]
    assert [step_line(s) for s in plan.steps] == [
        "s001 CreateProject alpha {ip_medium=illustration, ip_type=defined_character, "
        "project_name=alpha}",
        "s002 CreateDataset alpha alpha/a <- s001",
        "s003 UploadImage alpha/a a.png <- s002",
        "s004 CreateProject zeta {ip_medium=illustration, ip_type=defined_character, "
        "project_name=zeta}",
        "s005 CreateDataset zeta zeta/z <- s004",
        "s006 UploadImage zeta/z a.png <- s005",
    ]


def test_references_the_validator_should_have_caught_are_plan_errors() -> None:
    desired = {
        "projects": [PROJECT],
        "datasets": [{"project": "ghost", "name": "d", "images": ["a.png"]}],
        "models": [
            {"project": "lora", "name": "m", "dataset": "nowhere", "training_version": "light"}
        ],
    }
    result = diff_states(desired_state(desired), live_state({}))
    assert result.errors == [
        "dataset 'd' refers to project 'ghost', which no manifest declares: declare the project "
        "or fix the reference",
        "model 'lora/m' refers to dataset 'nowhere', which no manifest declares (or which is "
        "marked for deletion): declare the dataset or delete the model",
    ]


def test_a_declared_project_whose_datasets_were_not_read_is_an_error() -> None:
    live = {"projects": [{"id": 1, "project_name": "lora", "datasets": None}]}
    plan = build_plan(desired_state({"projects": [PROJECT]}), live_state(live))
    assert plan.errors == (
        "project 'lora': its datasets were not read from Bria, so it cannot be compared (this "
        "is a bug in reading the live state; please report it)",
    )
    assert plan.changes == () and plan.steps == ()


def test_rename_is_not_guessed_when_one_dataset_fits_two_declared_ones() -> None:
    desired = {
        "projects": [PROJECT],
        "datasets": [dataset(["a.png"]), {**dataset(["a.png"]), "name": "lora-v2"}],
    }
    live = live_project([{"id": 10, "name": "copy", "images": ["a.png"]}])
    plan = build_plan(desired_state(desired), live_state(live))
    assert [(c.address, c.action) for c in plan.changes] == [
        ("project.lora", "noop"),
        ("dataset.lora/copy", "noop"),
        ("dataset.lora/lora-v1", "create"),
        ("dataset.lora/lora-v2", "create"),
    ]


def test_a_model_on_another_declared_dataset_is_replaced_on_its_own() -> None:
    desired = {
        "projects": [PROJECT],
        "datasets": [dataset(["a.png"]), {**dataset(["b.png"]), "name": "other"}],
        "models": [
            {"project": "lora", "name": "m", "dataset": "other", "training_version": "light"}
        ],
    }
    live = live_project(
        [
            {"id": 10, "name": "lora-v1", "images": ["a.png"], "models": [{"id": 5, "name": "m"}]},
            {"id": 11, "name": "other", "images": ["b.png"]},
        ]
    )
    plan = build_plan(desired_state(desired), live_state(live))
    model = plan.changes[-1]
    assert (model.address, model.action) == ("model.lora/m", "replace")
    assert model.reason == (
        "model 'm' must be replaced: it was trained on dataset 'lora-v1', not on 'other': "
        "trains a new model 'm~2' (training takes 1-3 hours); the old model 'm' "
        "(Completed) stays until pruned"
    )
