"""Which manifest files a run reads, how they are shown, and which repository holds each.

Files are found recursively under the paths given (hidden folders such as `.git`,
`.reconciler` and `.venv` skipped), deduplicated by real path and sorted by their displayed
name, so the order of the arguments or of the directory listing never changes the result.

A repository holds other YAML too (`docker-compose.yml`, `mkdocs.yml`, `dvc.yaml`): a file found
in a folder is read only when it looks like ours: it sets `apiVersion: tailored-gen/...` or
has a top-level `kind: Project|Dataset|Model`. Anything else is skipped and listed, never
parsed, so a foreign file cannot fail a plan; a manifest that is broken still names its
apiVersion, so it is still read and its errors reported. A file named on the command line is
always read. The same rule (`looks_ours`) sorts the documents of a file that is read: next to a
document of ours, a foreign one (a ConfigMap, a compose file) is skipped and listed as
`file (document 1 of 3)`; a file with nothing of ours has every document checked, as before.

The repository of a manifest bounds where its image folders may point: the git work tree that
holds it (found by walking up to a `.git`), else the current directory when the manifest is
inside it, else the path given on the command line that led to it. The same realpath rule as
for image folders bounds the manifests themselves: a manifest file that links out of its
repository is refused unread (an error must never quote a file from outside, such as a secret on
a CI runner), and a linked folder is followed when it stays inside the repository and is a
located error otherwise (skipping it would let `--prune` delete what it declares).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from reconciler.manifest.diagnostics import DiagnosticSink, quote
from reconciler.workspace import git_work_tree

MANIFEST_SUFFIXES = (".yaml", ".yml")
SNIFF_BYTES = 64 * 1024
_LOOKS_LIKE_OURS = re.compile(
    rb"apiVersion[\"']?[ \t]*:[ \t]*[\"']?tailored-gen/"
    rb"|^kind:[ \t]*[\"']?(Project|Dataset|Model)[\"']?[ \t]*(#.*)?\r?$",
    re.M | re.I,
)


@dataclass(frozen=True)
class ManifestFile:
    display: str  # as the user gave it, relative to the cwd when inside it
    path: Path  # absolute (not resolved: the manifest's own folder anchors `spec.images`)
    root: Path  # resolved repository root bounding its image folders


@dataclass(frozen=True)
class Discovery:
    files: list[ManifestFile]  # to read, sorted by display name
    skipped: tuple[str, ...]  # YAML files found in folders that are not manifests (displayed)


#: The project's config file (policies, pricing: reconciler.spend_config): never a manifest,
#: never listed as a skipped YAML file.
CONFIG_FILE = "reconciler.yaml"


def find_manifests(paths: list[str], sink: DiagnosticSink) -> Discovery:
    cwd = Path.cwd().resolve()
    git_roots: dict[Path, Path | None] = {}
    found: dict[str, ManifestFile] = {}
    skipped: dict[str, str] = {}
    for given in paths:
        if not os.path.lexists(given):
            sink.error(given, 1, 1, f"path {quote(given, None)} does not exist")
            continue
        walked = os.path.isdir(given)
        if walked:
            search_root = Path(given).resolve()
            walk_root = _root(search_root, cwd, search_root, git_roots)
            files = _walk(given, walk_root, cwd, sink)
        else:
            files = [given]
            search_root = Path(os.path.abspath(given)).parent.resolve()
        taken = 0  # manifests read or refused for this path
        for file in files:
            real = os.path.realpath(file)
            absolute = Path(os.path.abspath(file))
            display = _display(file, absolute, cwd)
            root = _root(absolute.parent.resolve(), cwd, search_root, git_roots)
            if not Path(real).is_relative_to(root):
                sink.error(
                    display,
                    1,
                    1,
                    f"manifest {quote(display, None)} is a link to {quote(real, None)}, outside "
                    f"the repository {quote(str(root), None)}; keep manifests inside the "
                    "repository",
                )
                taken += 1
            elif walked and absolute.name == CONFIG_FILE and absolute.parent == search_root:
                continue
            elif walked and not looks_like_manifest(file):
                skipped.setdefault(real, display)
            else:
                found.setdefault(real, ManifestFile(display=display, path=absolute, root=root))
                taken += 1
        if walked and not taken:
            sink.error(given, 1, 1, _nothing_found(given, len(files)))
    not_read = sorted(display for real, display in skipped.items() if real not in found)
    return Discovery(files=sorted(found.values(), key=lambda f: f.display), skipped=tuple(not_read))


def looks_like_manifest(file: str) -> bool:
    """Whether a YAML file found in a folder is ours (its first 64 KiB name our apiVersion or
    one of our kinds at the top level); unreadable files are read, so their error is shown."""
    try:
        with open(file, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return True
    return _LOOKS_LIKE_OURS.search(head) is not None


def looks_ours(text: str) -> bool:
    """Whether one document's source is ours, by the rule `looks_like_manifest` applies to a
    file: it names our apiVersion, or one of our kinds at the top level."""
    return _LOOKS_LIKE_OURS.search(text.encode("utf-8", "surrogatepass")) is not None


def skipped_document(display: str, index: int, total: int) -> str:
    """How a skipped document is listed: `m/x.yaml (document 1 of 3)`."""
    return f"{display} (document {index} of {total})"


_SKIPPED_DOCUMENT = re.compile(r" \(document \d+ of \d+\)\Z")


def describe_skipped(skipped: tuple[str, ...], limit: int = 10) -> str:
    """One line naming the YAML files and documents that were not read because they are not
    manifests (files whole, documents as `skipped_document` names them)."""
    shown = ", ".join(quote(name, None) for name in skipped[:limit])
    more = f" and {len(skipped) - limit} more" if len(skipped) > limit else ""
    documents = sum(1 for name in skipped if _SKIPPED_DOCUMENT.search(name))
    files = len(skipped) - documents
    counts = [(files, "file")] if files or not documents else []
    counts += [(documents, "document")] if documents else []
    count = " and ".join(f"{n} YAML {noun}{'s' if n != 1 else ''}" for n, noun in counts)
    return (
        f"skipped {count} that {'is' if len(skipped) == 1 else 'are'} not a manifest "
        f"(no 'apiVersion: tailored-gen/v1'): {shown}{more}"
    )


def _nothing_found(given: str, yaml_files: int) -> str:
    where = quote(given, None)
    if not yaml_files:
        return f"no manifests (*.yaml, *.yml) found under {where}"
    return (
        f"no manifests found under {where}: none of its {yaml_files} YAML files has "
        "'apiVersion: tailored-gen/v1'"
    )


def _walk(top: str, root: Path, cwd: Path, sink: DiagnosticSink) -> list[str]:
    """YAML files under `top`, following folder links that stay inside `root` (each real folder
    once, so a link loop ends); a folder link leading outside is an error."""
    files: list[str] = []
    seen = {os.path.realpath(top)}
    for folder, subfolders, names in os.walk(top, followlinks=True):
        kept = []
        for name in sorted(d for d in subfolders if not d.startswith(".")):
            path = os.path.join(folder, name)
            real = os.path.realpath(path)
            if os.path.islink(path) and not Path(real).is_relative_to(root):
                display = _display(path, Path(os.path.abspath(path)), cwd)
                sink.error(
                    display,
                    1,
                    1,
                    f"folder {quote(display, None)} is a link to {quote(real, None)}, outside "
                    f"the repository {quote(str(root), None)}; keep manifests inside the "
                    "repository (or copy them in)",
                )
            elif real not in seen:
                seen.add(real)
                kept.append(name)
        subfolders[:] = kept
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
        git_roots[folder] = git_work_tree(folder)
    git_root = git_roots[folder]
    if git_root is not None:
        return git_root
    return cwd if folder.is_relative_to(cwd) else search_root
