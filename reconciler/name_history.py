"""The names this working copy's manifests have declared, so a rename can be told apart.

A resource renamed in the manifest and one renamed in Bria's console look the same in a single
snapshot: a declared name with nothing live under it, and an undeclared live resource that is
evidently it. Only the wording differs (and whether it is drift): "renamed in the manifest ...:
rename it in Bria" versus "renamed in the console ...: rename it back"; the steps are the same.
So the planner takes a hint, never a decision: the names earlier plans of this working copy saw
declared, kept in `.reconciler/names.json` beside the digest cache (never committed). Where
there is no such file (a fresh clone in CI), `reconciler.diff.renames` falls back on the shape
of the live name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from reconciler.state import DesiredState
from reconciler.workspace import state_dir

HISTORY_FILE_NAME = "names.json"
MAX_NAMES = 5_000  # a hint, not a record: keep the file small


def history_file() -> Path:
    return state_dir() / HISTORY_FILE_NAME


def declared_names(desired: DesiredState) -> frozenset[str]:
    """`project.lora`, `dataset.lora/lora-v1`, `model.lora/lora-light` for every declared one."""
    names = {f"project.{p.name}" for p in desired.projects}
    names |= {f"dataset.{d.project}/{d.name}" for d in desired.datasets}
    names |= {f"model.{m.project}/{m.name}" for m in desired.models}
    return frozenset(names)


def read_history(path: Path | None = None) -> frozenset[str] | None:
    """The names recorded so far, or None when there is no usable history file."""
    path = path or history_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    names = data.get("declared") if isinstance(data, dict) else None
    if not isinstance(names, list):
        return None
    return frozenset(name for name in names if isinstance(name, str))


def remember(desired: DesiredState, path: Path | None = None) -> None:
    """Add the manifests' names to the history (best effort: a hint is never worth an error)."""
    path = path or history_file()
    known = read_history(path) or frozenset()
    names = sorted(known | declared_names(desired))[:MAX_NAMES]
    if set(names) == known:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"declared": names}, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
