"""Adoption in the diff: console images matched to local files by name, the lock as the proof
of what was trusted, and a later content change seen as a change."""

from __future__ import annotations

import hashlib

from reconciler.adoption_lock import AdoptedImage
from reconciler.diff.adoption import NO_ADOPTION, adoption_note, match_adopted
from reconciler.diff.images import compare_images
from reconciler.naming import image_remote_name
from reconciler.state import DesiredDataset, DesiredImage, LiveImage


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def desired(
    files: dict[str, str], *, adopt: bool = True, lock: dict[str, tuple[str, str]] | None = None
) -> DesiredDataset:
    """files: name -> content label; lock: file -> (remote name, content label trusted)."""
    return DesiredDataset(
        project="lora",
        name="chars",
        images=tuple(
            DesiredImage(name, f"/x/{name}", digest(content), 10)
            for name, content in sorted(files.items())
        ),
        adopt=adopt,
        adopted=tuple(
            AdoptedImage(name, remote, digest(content))
            for name, (remote, content) in sorted((lock or {}).items())
        ),
        lock_file="chars.adopted.json",
    )


def live(*names: str) -> list[LiveImage]:
    return [LiveImage(i, name, "auto", "automatic") for i, name in enumerate(names, start=1)]


def test_without_adopt_nothing_is_matched_by_name() -> None:
    assert match_adopted(desired({"a.png": "A"}, adopt=False), live("a.png")) == NO_ADOPTION
    edits = compare_images(desired({"a.png": "A"}, adopt=False), live("a.png"), None)
    assert edits.deletes == ["a.png"] and [i.file_name for i in edits.uploads] == ["a.png"]


def test_console_images_are_adopted_by_name_and_nothing_changes() -> None:
    wanted = desired({"a.png": "A", "b.png": "B"})
    matches = match_adopted(wanted, live("a.png", "b.png"))
    assert sorted(matches.kept) == [1, 2]
    assert matches.new == (
        AdoptedImage("a.png", "a.png", digest("A")),
        AdoptedImage("b.png", "b.png", digest("B")),
    )
    edits = compare_images(wanted, live("a.png", "b.png"), None)
    assert not edits.content_differs and edits.kept_count == 2 and not edits.unrecognised
    assert adoption_note(edits.adoption, wanted.lock_file) == (
        "adopts 2 images by name; Bria re-encodes uploads, so their content cannot be "
        "compared; apply records what it trusted in 'chars.adopted.json' (commit it)"
    )


def test_recorded_adoption_holds_while_the_file_is_unchanged() -> None:
    wanted = desired({"a.png": "A"}, lock={"a.png": ("a.png", "A")})
    matches = match_adopted(wanted, live("a.png"))
    assert matches.new == () and matches.recorded == wanted.adopted
    assert matches.lock_after == wanted.adopted
    assert adoption_note(matches, wanted.lock_file) == (
        "adopts 1 image by name; Bria re-encodes uploads, so their content cannot be "
        "compared; what it trusted is recorded in 'chars.adopted.json'"
    )


def test_a_content_change_after_adoption_replaces_the_image() -> None:
    wanted = desired(
        {"a.png": "A2", "b.png": "B"}, lock={"a.png": ("a.png", "A"), "b.png": ("b.png", "B")}
    )
    edits = compare_images(wanted, live("a.png", "b.png"), None)
    assert edits.deletes == ["a.png"]
    assert [i.file_name for i in edits.uploads] == ["a.png"]
    assert edits.changed == ["a.png"] and edits.added == [] and edits.removed == []
    assert edits.adoption.lock_after == (AdoptedImage("b.png", "b.png", digest("B")),)


def test_an_adopted_file_removed_locally_is_deleted() -> None:
    wanted = desired({"b.png": "B"}, lock={"a.png": ("a.png", "A"), "b.png": ("b.png", "B")})
    edits = compare_images(wanted, live("a.png", "b.png"), None)
    assert edits.deletes == ["a.png"] and edits.removed == ["a.png"] and edits.uploads == []


def test_a_file_the_lock_covers_is_not_adopted_again_under_another_name() -> None:
    # a.png was adopted as 'a.png'; a console image 'a.png' in another version is fine, but a
    # new file of that name no longer matches by name once the lock speaks for it
    wanted = desired({"a.png": "A"}, lock={"a.png": ("photo.png", "A")})
    matches = match_adopted(wanted, live("a.png"))
    assert matches.kept == {} and matches.new == ()


def test_a_digest_named_copy_wins_over_the_adopted_one() -> None:
    wanted = desired({"a.png": "A2"}, lock={"a.png": ("a.png", "A")})
    uploaded = image_remote_name("a.png", digest("A2"))
    edits = compare_images(wanted, live("a.png", uploaded), None)
    assert edits.deletes == ["a.png"] and edits.uploads == [] and edits.kept_count == 1


def test_the_lock_maps_digest_names_of_re_encoded_images() -> None:
    # imported from a dataset the reconciler made: the downloaded bytes are Bria's re-encoding
    remote = image_remote_name("a.png", digest("original"))
    wanted = desired({"a.png": "re-encoded"}, lock={"a.png": (remote, "re-encoded")})
    edits = compare_images(wanted, live(remote), None)
    assert not edits.content_differs and edits.kept_count == 1


def test_console_images_with_no_matching_file_are_compared_as_usual() -> None:
    edits = compare_images(desired({"a.png": "A"}), live("a.png", "other.png"), None)
    assert edits.deletes == ["other.png"] and edits.unrecognised == ["other.png"]
    assert edits.kept_count == 1
