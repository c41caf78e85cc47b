"""Image and caption comparison of one dataset version, and the edit steps that close the gap.

Remote bytes cannot be compared (Bria re-encodes uploads), so an image is recognised by its
remote name `<stem>.<digest16><ext>` (reconciler.naming): the same (file_name, digest16) means the
same local file. Everything else follows from that match:

* a desired image with no match is uploaded; a remote image with no match (including images the
  reconciler did not upload, whose names do not parse) is deleted; a file whose content changed
  is both (delete the old name, upload the new one);
* a manifest caption must equal the remote caption; an automatic caption (None) must not be a
  manual one (a console edit), else it is regenerated;
* a caption prefix change regenerates every caption, after which every manifest caption is set
  again; so does a visual schema change (Bria's current generation), compared as JSON;
* in a draft, an automatic caption that does not continue the current prefix is stale (a prefix
  change whose regeneration never ran: an apply killed in between, or its answer lost): every
  caption is regenerated and the manifest captions set again, as after a prefix change. Bria's
  automatic captions continue the prefix they were made from, so this is how the next plan
  finishes the job instead of completing (and training on) captions of the old prefix. (A
  completed dataset is not cloned for that alone; the caller decides, see diff.datasets.)

The same edits serve a draft edited in place and a fresh clone of a completed version (a clone
copies images and captions, so it is compared with its source).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.diff.adoption import NO_ADOPTION, AdoptionMatches, match_adopted
from reconciler.diff.changes import StepList, plural
from reconciler.diff.generations import schema_text_differs
from reconciler.naming import DIGEST_LEN, image_remote_name, parse_image_remote_name
from reconciler.state import MAX_IMAGES, DesiredDataset, DesiredImage, LiveImage
from reconciler.steps import (
    DeleteImage,
    Ref,
    RegenerateCaption,
    RegenerateCaptions,
    SetCaption,
    UpdateDataset,
    UploadImage,
)


@dataclass
class ImageEdits:
    """The differences between a desired dataset and one remote version's images and prefix."""

    uploads: list[DesiredImage] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # remote image names
    delete_ids: list[int] = field(default_factory=list)  # the copy each of `deletes` removes
    set_captions: list[tuple[str, str]] = field(default_factory=list)  # kept images
    regenerate: list[str] = field(default_factory=list)  # kept images, manual -> automatic
    manifest_captions: list[tuple[str, str]] = field(default_factory=list)  # every kept one
    added: list[str] = field(default_factory=list)  # file names new to the dataset
    changed: list[str] = field(default_factory=list)  # file names whose content changed
    removed: list[str] = field(default_factory=list)  # file names (or remote names) that go
    caption_changes: list[str] = field(default_factory=list)  # file names
    unrecognised: list[str] = field(default_factory=list)  # remote names that do not parse
    kept_count: int = 0
    new_prefix: str | None = None  # set when the prefix changes
    stale: list[str] = field(default_factory=list)  # automatic captions of another prefix
    adoption: AdoptionMatches = NO_ADOPTION  # metadata.adopt: images matched by file name
    new_schema: str | None = None  # set when the visual schema (current generation) changes

    @property
    def content_differs(self) -> bool:
        return bool(
            self.uploads
            or self.deletes
            or self.set_captions
            or self.regenerate
            or self.new_prefix is not None
            or self.new_schema is not None
            or self.stale
        )

    @property
    def recaptions(self) -> bool:
        """A prefix or schema change, or captions of an old prefix: every caption is
        regenerated."""
        return self.new_prefix is not None or self.new_schema is not None or bool(self.stale)

    def summary_parts(self) -> list[str]:
        """Plain words for a reason: `add 2 images, remove 1, change 3 captions`."""
        parts: list[str] = []
        if self.new_prefix is not None:
            parts.append("change the caption prefix (all captions regenerate)")
        if self.new_schema is not None:
            parts.append("change the visual schema (all captions regenerate)")
        if self.stale:
            parts.append(
                f"regenerate all captions ({plural(len(self.stale), 'automatic caption')} "
                "do not continue the caption prefix: a prefix change left unfinished)"
            )
        counts = [
            ("add", len(self.added)),
            ("replace", len(self.changed)),
            ("remove", len(self.removed)),
        ]
        noun_used = False
        for verb, count in counts:
            if not count:
                continue
            if noun_used:
                text = f"{verb} {count}"
            else:
                text = f"{verb} {plural(count, 'image')}"
                noun_used = True
            if verb == "replace":
                text += " with new content"
            parts.append(text)
        if self.set_captions:
            parts.append(f"change {plural(len(self.set_captions), 'caption')}")
        if self.regenerate:
            parts.append(
                f"regenerate {plural(len(self.regenerate), 'caption')} edited in the console"
            )
        if self.recaptions and self.manifest_captions and self.kept_count:
            parts.append(f"set {plural(len(self.manifest_captions), 'manifest caption')} again")
        return parts


def remote_name_of(image: DesiredImage) -> str:
    return image_remote_name(image.file_name, image.digest)


def compare_images(
    desired: DesiredDataset,
    live_images: Sequence[LiveImage],
    live_prefix: str | None,
    live_schema: str | None = None,
    *,
    prefix_known: bool = True,
    check_continuation: bool = False,
) -> ImageEdits:
    """`prefix_known=False`: the live record has no caption_prefix at all (Bria's current
    generation), so the manifest's prefix is not compared (never a difference by absence).
    `check_continuation` (drafts of the reference generation): automatic captions must
    continue the live prefix."""
    adoption = match_adopted(desired, live_images)
    edits = ImageEdits(adoption=adoption)
    wanted = {(img.file_name, img.digest[:DIGEST_LEN]): img for img in desired.images}
    desired_files = {img.file_name for img in desired.images}
    kept: dict[tuple[str, str], LiveImage] = {}
    stale: list[str] = []  # the captions of edits.stale
    for live in sorted(live_images, key=lambda i: (i.image_name, i.id)):
        if live.id in adoption.kept:
            image = adoption.kept[live.id]
            kept[(image.file_name, image.digest[:DIGEST_LEN])] = live
            continue
        if live.id in adoption.replaced or live.id in adoption.gone:
            edits.deletes.append(live.image_name)
            edits.delete_ids.append(live.id)
            if live.id in adoption.gone:
                edits.removed.append(adoption.gone[live.id])
            continue
        parsed = parse_image_remote_name(live.image_name)
        if parsed is None:
            edits.unrecognised.append(live.image_name)
            edits.deletes.append(live.image_name)
            edits.delete_ids.append(live.id)
            edits.removed.append(live.image_name)
            continue
        key = (parsed.file_name, parsed.digest)
        if key in wanted and key not in kept:
            kept[key] = live
            continue
        edits.deletes.append(live.image_name)
        edits.delete_ids.append(live.id)
        if key in kept:  # a second copy of the same file
            edits.removed.append(live.image_name)
        elif parsed.file_name not in desired_files:
            edits.removed.append(parsed.file_name)
    live_files = {
        parsed.file_name
        for live in live_images
        if (parsed := parse_image_remote_name(live.image_name)) is not None
    } | set(adoption.replaced.values())
    if prefix_known and desired.caption_prefix not in (None, live_prefix):
        edits.new_prefix = desired.caption_prefix
    if schema_text_differs(desired.visual_schema, live_schema):
        edits.new_schema = desired.visual_schema
    for key, image in sorted(wanted.items()):
        live_image = kept.get(key)
        if live_image is None:
            edits.uploads.append(image)
            (edits.changed if image.file_name in live_files else edits.added).append(
                image.file_name
            )
            continue
        edits.kept_count += 1
        if image.caption is not None:
            edits.manifest_captions.append((live_image.image_name, image.caption))
            if live_image.caption != image.caption:
                edits.set_captions.append((live_image.image_name, image.caption))
                edits.caption_changes.append(image.file_name)
        elif live_image.caption_source == "manual":
            edits.regenerate.append(live_image.image_name)
            edits.caption_changes.append(image.file_name)
        elif check_continuation and not continues_prefix(live_image, live_prefix):
            edits.stale.append(live_image.image_name)
            stale.append(live_image.caption or "")
    if edits.new_prefix is not None or edits.new_schema is not None or not _share_a_prefix(stale):
        edits.stale.clear()  # regenerated anyway, or not captions of another prefix
    return edits


def _share_a_prefix(captions: Sequence[str], min_words: int = 3) -> bool:
    """Whether automatic captions that do not continue the live prefix all start with one
    text of at least `min_words` words: the old prefix they were made from. Continuations that
    do not repeat their prefix (another reading of "continues the caption prefix") start with
    different words, and judging those stale would regenerate them on every plan."""
    if len(captions) < 2:
        return True
    first = captions[0].split()[:min_words]
    return len(first) == min_words and all(c.split()[:min_words] == first for c in captions)


def continues_prefix(image: LiveImage, prefix: str | None) -> bool:
    """Whether an automatic caption continues `prefix` (anything else is not ours to judge)."""
    if image.caption_source != "automatic" or not image.caption or not prefix:
        return True
    return image.caption.strip().startswith(prefix.strip())


def add_edit_steps(
    steps: StepList,
    dataset: Ref,
    start: str | None,
    edits: ImageEdits,
    *,
    fresh_clone: bool = False,
) -> None:
    """Prefix, regeneration, deletes, uploads and captions, in the order the API needs.

    `start` is the key every edit waits for (creation, clone or rename), None when the dataset
    exists as it is. A prefix change regenerates the captions of the images already there (none
    on a new dataset, whose prefix is set before any upload). In a clone made by this plan the
    image ids are not known yet, so its DeleteImage steps carry none.
    """
    base = start
    regenerated = False
    if edits.recaptions:
        if edits.new_prefix is not None:
            base = steps.add(
                UpdateDataset(
                    **steps.head("prefix", base),
                    dataset=dataset,
                    fields={"caption_prefix": edits.new_prefix},
                )
            )
        if edits.new_schema is not None:
            base = steps.add(
                UpdateDataset(
                    **steps.head("visual-schema", base),
                    dataset=dataset,
                    fields={"visual_schema": edits.new_schema},
                )
            )
        if edits.kept_count:
            base = steps.add(
                RegenerateCaptions(**steps.head("regenerate-captions", base), dataset=dataset)
            )
            regenerated = True
    delete_keys = []
    seen: dict[str, int] = {}
    for name, image_id in zip(edits.deletes, edits.delete_ids, strict=True):
        seen[name] = seen.get(name, 0) + 1  # a name may repeat: each step deletes one copy
        what = f"delete-image:{name}" + (f"#{seen[name]}" if seen[name] > 1 else "")
        delete = DeleteImage(
            **steps.head(what, base),
            dataset=dataset,
            image_name=name,
            image_id=None if fresh_clone else image_id,
        )
        delete_keys.append(steps.add(delete))
    # Uploads wait for the deletes only when the 200-image limit could be hit in between.
    over_limit = edits.kept_count + len(edits.deletes) + len(edits.uploads) > MAX_IMAGES
    upload_after = [base, *(delete_keys if over_limit else [])]
    for image in edits.uploads:
        name = remote_name_of(image)
        upload = steps.add(
            UploadImage(
                **steps.head(f"upload:{name}", *upload_after),
                dataset=dataset,
                image_name=name,
                path=image.path,
                digest=image.digest,
                size=image.size,
            )
        )
        if image.caption is not None:
            steps.add(
                SetCaption(
                    **steps.head(f"caption:{name}", upload),
                    dataset=dataset,
                    image_name=name,
                    caption=image.caption,
                )
            )
    captions = edits.manifest_captions if regenerated else edits.set_captions
    for name, caption in captions:
        steps.add(
            SetCaption(
                **steps.head(f"caption:{name}", base),
                dataset=dataset,
                image_name=name,
                caption=caption,
            )
        )
    if not regenerated:
        for name in edits.regenerate:
            steps.add(
                RegenerateCaption(
                    **steps.head(f"regenerate-caption:{name}", base),
                    dataset=dataset,
                    image_name=name,
                )
            )
