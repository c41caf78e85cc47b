"""Adoption: a dataset marked `metadata.adopt: true` takes remote images made outside the
reconciler as its own, matched to local files by file name.

Normally an image is recognised by its remote name `<stem>.<digest16><ext>`, which proves which
local content it was uploaded from; a console upload has no digest, so without adoption it is
deleted and uploaded again (and a completed dataset cloned, its models retrained). Bria
re-encodes uploads, so their content cannot be compared: adoption trusts the local file instead,
and records what it trusted (the file's SHA-256) in the lock beside the manifest
(`reconciler.adoption_lock`). From then on the lock is the proof, as the digest in a name is:

* a live image the lock names, whose local file still has the recorded digest: kept;
* ... whose local file changed since: replaced (deleted, and the file uploaded under a digest
  name), like any changed file; the lock entry goes once the plan is applied;
* ... whose local file is gone: deleted;
* a live image named exactly like a local file that the lock does not cover yet: adopted now
  (kept), and `apply` records it;
* anything else: compared as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.adoption_lock import AdoptedImage
from reconciler.naming import DIGEST_LEN, parse_image_remote_name
from reconciler.state import DesiredDataset, DesiredImage, LiveImage

ADOPTION_CAVEAT = "Bria re-encodes uploads, so their content cannot be compared"


@dataclass(frozen=True)
class AdoptionMatches:
    """How the live images of an adopted dataset relate to its local files."""

    kept: Mapping[int, DesiredImage] = field(default_factory=dict)  # live id -> same file
    replaced: Mapping[int, str] = field(default_factory=dict)  # live id -> changed file
    gone: Mapping[int, str] = field(default_factory=dict)  # live id -> file no longer there
    new: tuple[AdoptedImage, ...] = ()  # adopted by name in this plan (not in the lock yet)
    recorded: tuple[AdoptedImage, ...] = ()  # lock entries that still hold

    @property
    def lock_after(self) -> tuple[AdoptedImage, ...]:
        """What the lock should hold for the dataset once the plan is applied."""
        return tuple(sorted((*self.recorded, *self.new), key=lambda image: image.file_name))


NO_ADOPTION = AdoptionMatches()


def match_adopted(desired: DesiredDataset, live_images: Sequence[LiveImage]) -> AdoptionMatches:
    """The module docstring's rules; NO_ADOPTION for a dataset not marked adopt."""
    if not desired.adopt:
        return NO_ADOPTION
    files = {image.file_name: image for image in desired.images}
    by_remote = {entry.remote_name: entry for entry in desired.adopted}
    locked_files = {entry.file_name for entry in desired.adopted}
    proven = {
        (image.file_name, image.digest[:DIGEST_LEN])
        for live in live_images
        if (parsed := parse_image_remote_name(live.image_name)) is not None
        for image in [files.get(parsed.file_name)]
        if image is not None and image.digest[:DIGEST_LEN] == parsed.digest
    }
    kept: dict[int, DesiredImage] = {}
    replaced: dict[int, str] = {}
    gone: dict[int, str] = {}
    new: list[AdoptedImage] = []
    recorded: list[AdoptedImage] = []
    taken: set[str] = set()
    for live in sorted(live_images, key=lambda image: (image.image_name, image.id)):
        entry = by_remote.get(live.image_name)
        if entry is not None:
            image = files.get(entry.file_name)
            if image is None:
                gone[live.id] = entry.file_name
            elif entry.file_name in taken or _is_proven(image, proven):
                continue  # a second copy, or the file is uploaded already: compared as usual
            elif image.digest == entry.sha256:
                kept[live.id] = image
                recorded.append(entry)
                taken.add(entry.file_name)
            else:
                replaced[live.id] = entry.file_name
                taken.add(entry.file_name)
            continue
        image = files.get(live.image_name)
        if (
            image is None
            or image.file_name in locked_files
            or image.file_name in taken
            or _is_proven(image, proven)
        ):
            continue
        kept[live.id] = image
        taken.add(image.file_name)
        new.append(AdoptedImage(image.file_name, live.image_name, image.digest))
    return AdoptionMatches(kept, replaced, gone, tuple(new), tuple(recorded))


def _is_proven(image: DesiredImage, proven: set[tuple[str, str]]) -> bool:
    """The file has a digest-named remote copy, which the usual comparison keeps."""
    return (image.file_name, image.digest[:DIGEST_LEN]) in proven


def adoption_note(matches: AdoptionMatches, lock_file: str | None) -> str | None:
    """Plain words for the reason: what adoption takes as it is, and where that is recorded."""
    where = f"'{lock_file}'" if lock_file else "the adoption lock beside the manifest"
    count = len(matches.new) + len(matches.recorded)
    if not count:
        return None
    note = f"adopts {count} image{'s' if count != 1 else ''} by name; {ADOPTION_CAVEAT}; "
    if not matches.new:
        return note + f"what it trusted is recorded in {where}"
    note += f"apply records what it trusted in {where} (commit it)"
    if matches.recorded:
        note += f" ({len(matches.recorded)} of them recorded there already)"
    return note
