"""Automatic captions of an unfinished prefix change (issue 8 item 1), read either way the
reference's "continues the caption prefix" allows: captions that repeat their prefix, and
continuations that do not (those must never be judged stale, or every plan regenerates)."""

from __future__ import annotations

from planner_cases.builders import desired_image, live_image

from reconciler.diff.images import compare_images
from reconciler.state import DesiredDataset

NEW = "An illustration of a character named Lora, a woman with green hair,"
OLD = "An illustration of a character named Lora, a woman with purple hair,"


def _stale(captions: list[str]) -> list[str]:
    files = [f"img{i}.png" for i in range(len(captions))]
    desired = DesiredDataset(
        project="p", name="d", images=tuple(desired_image(f) for f in files), status="draft"
    )
    live = [
        live_image({"file": f, "caption": c, "caption_source": "automatic"}, i + 1)
        for i, (f, c) in enumerate(zip(files, captions, strict=True))
    ]
    return compare_images(desired, live, NEW, check_continuation=True).stale


def test_captions_of_the_old_prefix_are_stale() -> None:
    assert len(_stale([f"{OLD} standing in a forest.", f"{OLD} sitting on a bench."])) == 2


def test_a_single_caption_of_another_prefix_is_stale() -> None:
    assert len(_stale([f"{OLD} standing in a forest."])) == 1


def test_captions_that_continue_the_current_prefix_are_not_stale() -> None:
    assert _stale([f"{NEW} standing in a forest.", f"{NEW} sitting on a bench."]) == []


def test_continuations_that_do_not_repeat_the_prefix_are_not_stale() -> None:
    assert _stale(["standing in a forest, smiling.", "sitting on a bench at dusk."]) == []
