"""Which manifest files a run reads, how they are shown, and which repository holds each.

Files are found recursively under the paths given (hidden folders such as `.git`,
`.reconciler` and `.venv` skipped), deduplicated by real path and sorted by their displayed
name, so the order of the arguments or of the directory listing never changes the result.

The repository of a manifest bounds where its image folders may point: the git work tree that
holds it (found by walking up to a `.git`), else the current directory when the manifest is
inside it, else the path given on the command line that led to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from reconciler.manifest.diagnostics import DiagnosticSink, quote

MANIFEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ManifestFile:
    display: str  # as the user gave it, relative to the cwd when inside it
    path: Path  # absolute (not resolved: the manifest's own folder anchors `spec.images`)
    root: Path  # resolved repository root bounding its image folders


def find_manifests(paths: list[str], sink: DiagnosticSink) -> list[ManifestFile]:
    cwd = Path.cwd().resolve()
    git_roots: dict[Path, Path | None] = {}
    found: dict[str, ManifestFile] = {}
    for given in paths:
        if not os.path.lexists(given):
            sink.error(given, 1, 1, f"path {quote(given, None)} does not exist")
            continue
        if os.path.isdir(given):
            files = _walk(given)
            if not files:
                sink.error(
                    given, 1, 1, f"no manifests (*.yaml, *.yml) found under {quote(given, None)}"
                )
            search_root = Path(given).resolve()
        else:
            files = [given]
            search_root = Path(given).resolve().parent
        for file in files:
            real = os.path.realpath(file)
            absolute = Path(os.path.abspath(file))
            found.setdefault(
                real,
                ManifestFile(
                    display=_display(file, absolute, cwd),
                    path=absolute,
                    root=_root(Path(real).parent, cwd, search_root, git_roots),
                ),
            )
    return sorted(found.values(), key=lambda f: f.display)


def _walk(top: str) -> list[str]:
    files: list[str] = []
    for folder, subfolders, names in os.walk(top):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        files.extend(
            os.path.join(folder, name)
            for name in sorted(names)
            if name.lower().endswith(MANIFEST_SUFFIXES) and not name.startswith(".")
        )
    return files


def _display(given: str, absolute: Path, cwd: Path) -> str:
    if absolute.is_relative_to(cwd):
        return str(absolute.relative_to(cwd))
    return os.path.normpath(given)


def _root(folder: Path, cwd: Path, search_root: Path, git_roots: dict[Path, Path | None]) -> Path:
    if folder not in git_roots:
        git_roots[folder] = _git_work_tree(folder)
    git_root = git_roots[folder]
    if git_root is not None:
        return git_root
    return cwd if folder.is_relative_to(cwd) else search_root


def _git_work_tree(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` holding `.git` (a folder, or a worktree file)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None
