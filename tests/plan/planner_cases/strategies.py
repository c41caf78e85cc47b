"""Hypothesis strategies for planner properties: small random desired and live states drawn from
shared name pools, so that they overlap (same project, versioned dataset and model names, the same
image files with other content, console renames, stray models, every model status)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from planner_cases.builders import desired_state, live_state

from reconciler.state import DesiredState, LiveState

PROJECTS = ["lora", "icons"]
FILES = ["a.png", "b.png", "c.png", "d.png"]
CAPTIONS = [None, "cap one", "cap two"]
PREFIXES = [None, "P1,", "P2,"]
MODEL_STATUSES = ["Created", "InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleted"]


def rarely() -> st.SearchStrategy[bool]:
    return st.sampled_from([False, False, False, False, True])


@st.composite
def desired_specs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(PROJECTS), min_size=1, max_size=2, unique=True))
    spec: dict[str, Any] = {"projects": [], "datasets": [], "models": []}
    for name in names:
        spec["projects"].append(
            {
                "name": name,
                "ip_type": draw(st.sampled_from(["defined_character", "stylized_scene"])),
                "description": draw(st.sampled_from([None, "first", "second"])),
                "ip_name": draw(st.sampled_from([None, "Lora"])),
                "allow_replace": draw(st.booleans()),
                "delete": draw(rarely()),
            }
        )
        kept: list[str] = []
        deleted: list[str] = []
        for dataset in draw(st.lists(st.sampled_from(["ds-a", "ds-b"]), max_size=2, unique=True)):
            files = draw(st.lists(st.sampled_from(FILES), min_size=1, max_size=4, unique=True))
            delete = draw(rarely())
            (deleted if delete else kept).append(dataset)
            spec["datasets"].append(
                {
                    "project": name,
                    "name": dataset,
                    "images": [
                        {
                            "file": f,
                            "content": f + draw(st.sampled_from(["", "v2"])),
                            "caption": draw(st.sampled_from(CAPTIONS)),
                        }
                        for f in files
                    ],
                    "caption_prefix": draw(st.sampled_from(PREFIXES)),
                    "status": draw(st.sampled_from(["completed", "completed", "draft"])),
                    "delete": delete,
                }
            )
        for model in draw(st.lists(st.sampled_from(["m-light", "m-max"]), max_size=2, unique=True)):
            if not kept and not deleted:
                break
            on_kept = bool(kept) and draw(st.booleans()) or not deleted
            spec["models"].append(
                {
                    "project": name,
                    "name": model,
                    "dataset": draw(st.sampled_from(kept if on_kept else deleted)),
                    "training_version": draw(st.sampled_from(["light", "max"])),
                    "description": draw(st.sampled_from([None, "fast", "slow"])),
                    "delete": (not on_kept) or draw(rarely()),
                }
            )
    return spec


@st.composite
def live_specs(draw: st.DrawFn) -> dict[str, Any]:
    ids = iter(range(1, 10_000))
    projects = []
    for name in draw(st.lists(st.sampled_from([*PROJECTS, "other"]), max_size=3, unique=True)):
        datasets = []
        dataset_names = ["ds-a", "ds-a~2", "ds-b", "renamed in console"]
        for dataset in draw(st.lists(st.sampled_from(dataset_names), max_size=3, unique=True)):
            status = draw(st.sampled_from(["draft", "completed"]))
            images: list[Any] = [
                {
                    "file": f,
                    "content": f + draw(st.sampled_from(["", "v2"])),
                    "caption": draw(st.sampled_from([*CAPTIONS[1:], "auto text"])),
                    "caption_source": draw(st.sampled_from(["automatic", "manual", None])),
                }
                for f in draw(st.lists(st.sampled_from(FILES), max_size=4, unique=True))
            ]
            if draw(rarely()):
                images.append({"image_name": "IMG_0001.png"})
            models = []
            model_names = ["m-light", "m-light~2", "m-max", "stray"]
            for model in draw(st.lists(st.sampled_from(model_names), max_size=2, unique=True)):
                model_status = draw(st.sampled_from(MODEL_STATUSES))
                if status == "draft" and model_status != "Deleted":
                    model_status = "Created"  # training needs a completed dataset
                models.append(
                    {
                        "id": next(ids),
                        "name": model,
                        "training_version": draw(st.sampled_from(["light", "max"])),
                        "status": model_status,
                        "description": draw(st.sampled_from([None, "fast"])),
                    }
                )
            datasets.append(
                {
                    "id": next(ids),
                    "name": dataset,
                    "status": status if images else "draft",
                    "caption_prefix": draw(st.sampled_from(["Default prefix,", "P1,", "P2,"])),
                    "images": images,
                    "models": models,
                }
            )
        projects.append(
            {
                "id": next(ids),
                "project_name": name,
                "ip_type": draw(
                    st.sampled_from(["defined_character", "defined_character", "stylized_scene"])
                ),
                "project_description": draw(st.sampled_from([None, "first"])),
                "datasets": datasets,
            }
        )
    return {"projects": projects}


def desired_states() -> st.SearchStrategy[DesiredState]:
    return desired_specs().map(desired_state)


def live_states() -> st.SearchStrategy[LiveState]:
    return live_specs().map(live_state)


@st.composite
def derived_live_specs(draw: st.DrawFn, desired: dict[str, Any]) -> dict[str, Any]:
    """A live account close to `desired`: what an earlier apply left, then edits and drift."""
    ids = iter(range(1, 10_000))

    def maybe(p: float) -> bool:
        return draw(st.floats(0, 1)) < p

    projects = []
    for project in desired["projects"]:
        if not maybe(0.85):
            continue
        datasets = []
        for dataset in desired["datasets"]:
            if dataset["project"] != project["name"] or not maybe(0.85):
                continue
            versions = [dataset["name"]]
            if maybe(0.3):
                versions.append(dataset["name"] + "~2")
            if maybe(0.1):
                versions = ["renamed in console"]
            for version in versions:
                images: list[Any] = []
                for image in dataset["images"]:
                    if maybe(0.85):
                        same = maybe(0.85)
                        images.append(
                            {
                                "file": image["file"],
                                "content": image["content"] if same else image["file"] + "old",
                                "caption": image["caption"] if maybe(0.8) else "console edit",
                                "caption_source": "automatic"
                                if image["caption"] is None and maybe(0.8)
                                else "manual",
                            }
                        )
                if maybe(0.15):
                    images.append({"file": "z.png"})
                status = (
                    dataset["status"]
                    if maybe(0.7)
                    else draw(st.sampled_from(["draft", "completed"]))
                )
                status = status if images else "draft"
                models = []
                for model in desired["models"]:
                    if model["dataset"] != dataset["name"] or model["project"] != project["name"]:
                        continue
                    if not maybe(0.7):
                        continue
                    model_status = draw(st.sampled_from(MODEL_STATUSES))
                    if status == "draft":
                        model_status = "Created"
                    models.append(
                        {
                            "id": next(ids),
                            "name": model["name"] if maybe(0.9) else "stray",
                            "training_version": model["training_version"]
                            if maybe(0.8)
                            else "light",
                            "status": model_status,
                            "description": model["description"] if maybe(0.8) else "edited",
                        }
                    )
                prefix = dataset["caption_prefix"] if maybe(0.7) else "P3,"
                datasets.append(
                    {
                        "id": next(ids),
                        "name": version,
                        "status": status,
                        "caption_prefix": prefix or "Default prefix,",
                        "images": images,
                        "models": models,
                    }
                )
        changed_type = maybe(0.1)
        projects.append(
            {
                "id": next(ids),
                "project_name": project["name"],
                "ip_type": "icons" if changed_type else project["ip_type"],
                "project_description": project["description"] if maybe(0.8) else "edited",
                "ip_name": project["ip_name"],
                "datasets": datasets,
            }
        )
    return {"projects": projects}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[DesiredState, LiveState]:
    """A desired state and a live state: mostly close to each other, sometimes unrelated."""
    desired = draw(desired_specs())
    if draw(st.integers(0, 3)) == 0:
        live = draw(live_specs())
    else:
        live = draw(derived_live_specs(desired))
    return desired_state(desired), live_state(live)
