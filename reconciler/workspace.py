"""Where the reconciler keeps its local files: `.reconciler/` at the top of the git work tree.

The image digest cache, the apply lock and the embedded emulator's account live there. Anchored
at the repository root (the current directory outside git), so `plan --emulator` run from a
subfolder sees the same account as from the top, and one apply lock covers the repository.
The folder ignores itself in git (`.reconciler/.gitignore` holds `*`), so nothing in it is ever
committed by accident, whatever the repository's own `.gitignore` says.

`RECONCILER_STATE_DIR` points the state elsewhere (a read-only checkout, a shared runner). A
state folder that cannot be used (a file or a dangling link in its place, read-only, a full
disk) is a `StateDirError` naming the folder, the reason and that fix, never an OSError.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import IO

from reconciler.errors import ReconcilerError

STATE_DIR_NAME = ".reconciler"
STATE_DIR_ENV = "RECONCILER_STATE_DIR"
GITIGNORE_LINE = ".reconciler/"
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class StateDirError(ReconcilerError):
    """The state folder (or a file in it) cannot be used."""


def git_work_tree(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` holding `.git` (a folder, or a worktree file)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def repository_root() -> Path:
    """The git work tree holding the current directory, else the current directory."""
    cwd = Path.cwd().resolve()
    return git_work_tree(cwd) or cwd


def state_dir() -> Path:
    """`$RECONCILER_STATE_DIR` when set, else `.reconciler/` at the repository root."""
    override = os.environ.get(STATE_DIR_ENV, "").strip()
    if override:
        return Path(os.path.abspath(os.path.expanduser(override)))
    return repository_root() / STATE_DIR_NAME


def cache_dir() -> Path:
    return state_dir() / "cache"


def emulator_data_dir() -> Path:
    return state_dir() / "emulator"


def ensure_state_dir() -> tuple[Path, bool]:
    """Create `.reconciler/` (ignoring itself in git) when missing; (its path, whether created).
    StateDirError when it cannot be used."""
    folder = state_dir()
    if os.path.islink(folder) and not folder.exists():
        target = os.path.realpath(folder)
        raise _not_a_folder(folder, f"is a link to '{target}', which does not exist")
    if folder.exists() and not folder.is_dir():
        raise _not_a_folder(folder, "is a file, not a folder")
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by reconciler: nothing here is meant to be committed\n*\n")
    except OSError as err:
        raise state_write_error(folder, err) from None
    return folder, created


def open_state_file(name: str, mode: str) -> IO[str]:
    """A file in the state folder (the apply lock), with clean errors."""
    folder = ensure_state_dir()[0]
    path = folder / name
    if path.is_dir():
        raise StateDirError(
            f"the apply lock '{path}' is a directory; remove it (rmdir '{path}') and run "
            "apply again"
        )
    try:
        return open(path, mode, encoding="utf-8")
    except OSError as err:
        raise state_write_error(folder, err) from None


def _not_a_folder(folder: Path, what: str) -> StateDirError:
    return StateDirError(
        f"the state folder '{folder}' {what}; move it away, or set {STATE_DIR_ENV} to another "
        "folder for the reconciler's state"
    )


def state_write_error(folder: Path, err: OSError) -> StateDirError:
    """Why the state folder cannot be written, and the fix."""
    reason = err.strerror or str(err)
    if err.errno == errno.ENOSPC:
        fix = f"free some space, or set {STATE_DIR_ENV} to a folder on another disk"
    elif err.errno in _READ_ONLY:
        reason = f"{reason} (a read-only checkout?)"
        fix = (
            f"set {STATE_DIR_ENV} to a writable folder (e.g. "
            f"{STATE_DIR_ENV}=/tmp/reconciler-state) to keep the state elsewhere"
        )
    else:
        fix = f"check the folder, or set {STATE_DIR_ENV} to another one"
    return StateDirError(f"cannot write the state folder '{folder}': {reason}; {fix}")


def gitignore_has_line(root: Path) -> bool:
    """Whether the repository's `.gitignore` already names `.reconciler`."""
    try:
        lines = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    return any(line.strip().strip("/") == STATE_DIR_NAME for line in lines)


def add_gitignore_line(root: Path) -> bool:
    """Append `.reconciler/` to the repository's `.gitignore`; False when it was already there."""
    if gitignore_has_line(root):
        return False
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    separator = "" if not text or text.endswith("\n") else "\n"
    path.write_text(f"{text}{separator}{GITIGNORE_LINE}\n", encoding="utf-8")
    return True
