"""Pure: which caption sidecars `reconciler captions pull` writes, and why it leaves the others.

A design team reviews captions in the repository, but Bria writes the automatic ones. Pulling
copies each image's current caption (from the current version of each declared dataset) into
`<stem>.txt` beside the local image, so that the captions can be read and edited in a pull
request; right after a pull, `plan` shows no caption change, and editing one sidecar plans
exactly that one caption. A caption the manifest itself gives (`spec.captions`) wins over any
sidecar, so those images are left alone, and so is every image whose local file is not the one
in Bria (its caption describes other content). This module decides; the command writes.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from reconciler.diff.adoption import match_adopted
from reconciler.diff.live_index import ProjectIndex
from reconciler.manifest.diagnostics import control_character
from reconciler.naming import DIGEST_LEN, parse_image_remote_name
from reconciler.state import DesiredDataset, DesiredState, LiveImage, LiveState

PullAction = Literal["write", "unchanged", "skip"]


@dataclass(frozen=True)
class SidecarPull:
    """One image of a dataset: the sidecar to write (or not) and why."""

    file_name: str
    sidecar: str  # path of `<stem>.txt` beside the local image
    action: PullAction
    caption: str | None  # the text to write (write/unchanged)
    why: str  # for skip (and a note for write, e.g. a different local caption is replaced)


@dataclass(frozen=True)
class DatasetPull:
    """One declared dataset: the version read, and each image's outcome; `skipped` says why
    nothing was pulled at all (absent from Bria, marked delete, ...)."""

    address: str  # "lora/lora-v1"
    version: str | None  # remote name of the current version ("lora-v1~2"), None when absent
    status: str | None  # draft | completed
    images: tuple[SidecarPull, ...] = ()
    skipped: str | None = None


def dataset_address(dataset: DesiredDataset) -> str:
    return f"{dataset.project}/{dataset.name}"


def plan_pull(
    desired: DesiredState,
    live: LiveState,
    sidecars: dict[str, str | None],
    only: Collection[str] = (),
) -> list[DatasetPull]:
    """What to pull for each declared dataset (those in `only`, by `project/name`, if given).

    `sidecars` maps a sidecar path to its current text (None when there is no such file), for
    the paths `sidecar_paths` names; it is read by the caller so this stays pure.
    """
    projects = {p.project_name: p for p in live.projects}
    out: list[DatasetPull] = []
    for dataset in desired.datasets:
        address = dataset_address(dataset)
        if only and address not in only:
            continue
        if dataset.delete:
            out.append(DatasetPull(address, None, None, skipped="it is marked for deletion"))
            continue
        project = projects.get(dataset.project)
        index = ProjectIndex.build(dataset.project, project, [d.name for d in desired.datasets], [])
        current = index.current_dataset(dataset.name)
        if current is None:
            where = "its project is" if project is None else "it is"
            out.append(
                DatasetPull(
                    address, None, None, skipped=f"{where} not in Bria yet: nothing to pull"
                )
            )
            continue
        live_dataset = current.dataset
        if len(index.twin_datasets(dataset.name)) > 1:
            out.append(
                DatasetPull(
                    address,
                    live_dataset.name,
                    live_dataset.status,
                    skipped=f"'{live_dataset.name}' exists more than once in Bria (rename or "
                    "delete the extra ones in the console)",
                )
            )
            continue
        if live_dataset.captions_update_status == "in_progress":
            out.append(
                DatasetPull(
                    address,
                    live_dataset.name,
                    live_dataset.status,
                    skipped="Bria is regenerating its captions: pull again when it is done",
                )
            )
            continue
        images = _pull_images(dataset, live_dataset.images or (), sidecars)
        out.append(DatasetPull(address, live_dataset.name, live_dataset.status, images))
    return out


def sidecar_path(image_path: str) -> str:
    """`<stem>.txt` beside the image (the name the manifest loader reads)."""
    return os.path.splitext(image_path)[0] + ".txt"


def sidecar_paths(desired: DesiredState) -> list[str]:
    return [sidecar_path(image.path) for d in desired.datasets for image in d.images]


def _pull_images(
    dataset: DesiredDataset, live_images: tuple[LiveImage, ...], sidecars: dict[str, str | None]
) -> tuple[SidecarPull, ...]:
    by_key: dict[tuple[str, str], LiveImage] = {}
    names: set[str] = set()
    for remote in sorted(live_images, key=lambda i: i.id):
        parsed = parse_image_remote_name(remote.image_name)
        if parsed is not None:
            by_key.setdefault((parsed.file_name, parsed.digest), remote)
            names.add(parsed.file_name)
    # an adopted dataset (metadata.adopt) knows its console-named images by file name
    adoption = match_adopted(dataset, live_images)
    for remote in live_images:
        adopted = adoption.kept.get(remote.id)
        if adopted is not None:
            by_key.setdefault((adopted.file_name, adopted.digest[:DIGEST_LEN]), remote)
            names.add(adopted.file_name)
    sharing: dict[str, list[str]] = {}
    for image in dataset.images:
        sharing.setdefault(sidecar_path(image.path), []).append(image.file_name)
    out = []
    for image in dataset.images:
        path = sidecar_path(image.path)
        live = by_key.get((image.file_name, image.digest[:DIGEST_LEN]))
        others = [name for name in sharing[path] if name != image.file_name]
        why = _why_skip(image.caption_origin, path, others, live, image.file_name in names)
        if why is not None:
            out.append(SidecarPull(image.file_name, path, "skip", None, why))
            continue
        caption = (live.caption or "").strip() if live else ""
        current = sidecars.get(path)
        if current is not None and current.strip() == caption:
            out.append(SidecarPull(image.file_name, path, "unchanged", caption, ""))
        else:
            note = "" if current is None else "replaces a different local caption"
            out.append(SidecarPull(image.file_name, path, "write", caption, note))
    return tuple(out)


def _why_skip(
    origin: str | None, path: str, others: list[str], live: LiveImage | None, name_in_bria: bool
) -> str | None:
    """Why an image's sidecar is not written, or None when Bria's caption can be pulled."""
    if origin == "manifest":
        return "spec.captions gives its caption, which wins over a sidecar"
    if others:
        return (
            f"it shares the sidecar '{os.path.basename(path)}' with "
            + ", ".join(f"'{name}'" for name in others)
            + ": give their captions in spec.captions"
        )
    if live is None and name_in_bria:
        return "the local file differs from the one in Bria (plan would upload it)"
    if live is None:
        return "it is not in Bria yet (plan would upload it)"
    if live.caption_source == "pending" or not (live.caption or "").strip():
        return "Bria has no caption for it yet: pull again later"
    if (bad := control_character(live.caption or "")) is not None:
        return (
            f"Bria's caption contains the control character {bad}, which a caption file "
            "cannot hold: fix the caption in the console"
        )
    return None
