"""Where the reconciler keeps its local files: `.reconciler/` at the top of the git work tree.

The image digest cache, the apply lock and the embedded emulator's account live there. Anchored
at the repository root (the current directory outside git), so `plan --emulator` run from a
subfolder sees the same account as from the top, and one apply lock covers the repository.
The folder ignores itself in git (`.reconciler/.gitignore` holds `*`), so nothing in it is ever
committed by accident, whatever the repository's own `.gitignore` says.
"""

from __future__ import annotations

from pathlib import Path

STATE_DIR_NAME = ".reconciler"
GITIGNORE_LINE = ".reconciler/"


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
    return repository_root() / STATE_DIR_NAME


def cache_dir() -> Path:
    return state_dir() / "cache"


def emulator_data_dir() -> Path:
    return state_dir() / "emulator"


def ensure_state_dir() -> tuple[Path, bool]:
    """Create `.reconciler/` (ignoring itself in git) when missing; (its path, whether created)."""
    folder = state_dir()
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by reconciler: nothing here is meant to be committed\n*\n")
    except OSError:
        return folder, False  # a read-only checkout still validates and plans (cache stays cold)
    return folder, created


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
