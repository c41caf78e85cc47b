"""How remote names carry what the reconciler needs to recognise its own work.

State lives in Bria, not in a state file, so everything the planner needs must be readable back
from the account:

* Projects are matched by `project_name` == manifest `metadata.name`.
* Datasets and models are *versioned*: a completed dataset is immutable, so a change makes a new
  version (a clone) and new models on it. Version 1 is named exactly `metadata.name`; version N>1
  is `metadata.name~N`. The highest version is the current one; older ones stay until pruned.
  Manifest names cannot contain `~`, so the suffix is unambiguous.
* Images are named `<stem>.<digest16><ext>` (`lora-01.3f2a9c1b7d4e6a5b.png`), where digest16 is
  the first 16 hex digits of the SHA-256 of the local file. Bria re-encodes uploads, so remote
  bytes cannot be compared; the name is the proof of which local file an image came from.
  A local name must come back out of its remote name unchanged (`image_name_problem`), or the
  image would look foreign on every plan and be deleted and uploaded again each time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIGEST_LEN = 16
_VERSIONED = re.compile(r"^(?P<base>[^~]+?)(?:~(?P<version>[1-9][0-9]*))?$")
_IMAGE = re.compile(
    rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LEN}}})(?P<ext>\.[A-Za-z0-9]{{1,8}})?$"
)


@dataclass(frozen=True)
class Versioned:
    base: str
    version: int


def versioned_name(base: str, version: int) -> str:
    """`lora-v1` for version 1, `lora-v1~3` for version 3."""
    if version < 1:
        raise ValueError(f"version must be >= 1, got {version}")
    return base if version == 1 else f"{base}~{version}"


def parse_versioned_name(remote_name: str) -> Versioned | None:
    """The inverse of `versioned_name`; None for names that do not follow the scheme."""
    m = _VERSIONED.match(remote_name)
    if not m:
        return None
    return Versioned(m.group("base"), int(m.group("version") or 1))


@dataclass(frozen=True)
class ImageName:
    file_name: str  # the local file name it was uploaded from
    digest: str  # first DIGEST_LEN hex digits of its SHA-256


def image_remote_name(file_name: str, digest: str) -> str:
    """`lora-01.png` + digest -> `lora-01.<digest16>.png`."""
    stem, dot, ext = file_name.rpartition(".")
    if not dot or not stem:
        stem, ext = file_name, ""
    short = digest[:DIGEST_LEN]
    return f"{stem}.{short}.{ext}" if ext else f"{stem}.{short}"


def parse_image_remote_name(remote_name: str) -> ImageName | None:
    """The inverse of `image_remote_name`; None for images the reconciler did not upload."""
    m = _IMAGE.match(remote_name)
    if not m:
        return None
    ext = m.group("ext") or ""
    return ImageName(file_name=m.group("stem") + ext, digest=m.group("digest"))


def image_name_problem(file_name: str) -> str | None:
    """Why `file_name` would not survive `image_remote_name` -> `parse_image_remote_name`
    unchanged (so every plan would upload it again); None when it does."""
    if file_name != file_name.strip():
        return "starts or ends with a space"
    if file_name.endswith("."):
        return "ends with a dot"
    parsed = parse_image_remote_name(image_remote_name(file_name, "0" * DIGEST_LEN))
    if parsed is not None and parsed.file_name == file_name:
        return None
    extension = file_name.rpartition(".")[2]
    return (
        f"has the extension '.{extension}', which Bria image names cannot carry back "
        "(1-8 letters or digits)"
    )
