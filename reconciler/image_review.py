"""Pure: what a reviewer sees of one dataset change, image by image, captions before and after.

For a design team the wording of a caption is the review, and the pictures are what goes into
the training set. The diff knows both sides (the live images with their captions, the local
files with theirs), but a saved plan must render the same page later without the account
(`reconciler show`), so the plan itself carries this inventory: every image the change adds,
changes, removes or keeps, where its local file is (for thumbnails), and its caption before and
after with the caption's source (automatic: written by Bria; manual: written by a person).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from reconciler.naming import DIGEST_LEN, parse_image_remote_name
from reconciler.state import DesiredDataset, LiveImage

ImageState = Literal["added", "changed", "removed", "kept"]
IMAGE_STATES: tuple[ImageState, ...] = ("added", "changed", "removed", "kept")


@dataclass(frozen=True)
class ImageReview:
    file: str  # the local file name (a remote name for images the reconciler did not upload)
    state: ImageState
    path: str | None  # the local file (None for removed images)
    caption_before: str | None  # None: no caption yet (new image) or none in Bria
    source_before: str | None  # automatic | manual | unknown | pending (as Bria says)
    caption_after: str | None  # None with source_after "automatic": Bria writes it
    source_after: str | None  # manual | automatic; None for removed images
    caption_changed: bool = False  # one of the change's `caption_changes`


def review_images(
    desired: DesiredDataset,
    live_images: Sequence[LiveImage],
    caption_changes: Sequence[str],
    *,
    prefix_changes: bool = False,
    matched: Mapping[int, tuple[str, bool]] | None = None,
) -> tuple[ImageReview, ...]:
    """Every image of the dataset change in file order: added, changed, kept, then removed.

    `caption_changes` are the file names whose caption the plan changes (the diff's own list);
    with `prefix_changes`, Bria regenerates every automatic caption. `matched`: live images the
    diff matched to a local file by name rather than by the digest in their remote name
    (adoption): live id -> (file name, whether that file is still the same content).
    """
    matched = matched or {}
    live_by_key: dict[tuple[str, str], LiveImage] = {}
    live_by_file: dict[str, LiveImage] = {}
    removed: list[ImageReview] = []
    desired_files = {image.file_name for image in desired.images}
    wanted = {(image.file_name, image.digest[:DIGEST_LEN]) for image in desired.images}
    digests = {image.file_name: image.digest[:DIGEST_LEN] for image in desired.images}
    for live in sorted(live_images, key=lambda i: (i.image_name, i.id)):
        if live.id in matched:
            file, same = matched[live.id]
            if file not in desired_files:
                removed.append(_removed(file, live))
            elif same:
                live_by_key.setdefault((file, digests[file]), live)
            else:
                live_by_file.setdefault(file, live)
            continue
        parsed = parse_image_remote_name(live.image_name)
        if parsed is None:
            removed.append(_removed(live.image_name, live))  # not the reconciler's upload
            continue
        key = (parsed.file_name, parsed.digest)
        if key in wanted and key not in live_by_key:
            live_by_key[key] = live
        elif key in live_by_key:
            removed.append(_removed(live.image_name, live))  # a second copy of the same file
        elif parsed.file_name not in desired_files:
            removed.append(_removed(parsed.file_name, live))
        else:
            live_by_file.setdefault(parsed.file_name, live)  # its content is replaced
    changed_captions = set(caption_changes)
    out: list[ImageReview] = []
    for image in desired.images:
        kept = live_by_key.get((image.file_name, image.digest[:DIGEST_LEN]))
        if kept is None:
            old = live_by_file.get(image.file_name)
            out.append(
                ImageReview(
                    file=image.file_name,
                    state="changed" if old else "added",
                    path=image.path,
                    caption_before=old.caption if old else None,
                    source_before=old.caption_source if old else None,
                    caption_after=image.caption,
                    source_after="manual" if image.caption is not None else "automatic",
                )
            )
            continue
        after: str | None = kept.caption
        source: str | None = kept.caption_source
        if image.caption is not None:
            if image.caption != kept.caption or prefix_changes:
                after, source = image.caption, "manual"  # set by the plan
        elif kept.caption_source == "manual" or prefix_changes:
            after, source = None, "automatic"  # regenerated by Bria
        out.append(
            ImageReview(
                file=image.file_name,
                state="kept",
                path=image.path,
                caption_before=kept.caption,
                source_before=kept.caption_source,
                caption_after=after,
                source_after=source,
                caption_changed=image.file_name in changed_captions,
            )
        )
    order = {state: n for n, state in enumerate(IMAGE_STATES)}
    out.sort(key=lambda r: (order[r.state], r.file))
    return tuple(out + removed)


def _removed(file: str, live: LiveImage) -> ImageReview:
    return ImageReview(
        file=file,
        state="removed",
        path=None,
        caption_before=live.caption,
        source_before=live.caption_source,
        caption_after=None,
        source_after=None,
    )


def caption_diffs(images: Sequence[ImageReview]) -> list[ImageReview]:
    """The kept images whose caption the plan changes (what a caption review reads)."""
    return [image for image in images if image.caption_changed]


def review_to_json(image: ImageReview) -> dict[str, Any]:
    return asdict(image)


def review_from_json(data: dict[str, Any]) -> ImageReview:
    return ImageReview(
        file=data["file"],
        state=data["state"],
        path=data["path"],
        caption_before=data["caption_before"],
        source_before=data["source_before"],
        caption_after=data["caption_after"],
        source_after=data["source_after"],
        caption_changed=data.get("caption_changed", False),
    )
