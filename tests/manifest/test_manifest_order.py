"""Property: how documents are spread over files, and in what order, never changes the state.

The planner diffs the desired state, so if file layout leaked into it a rename could plan
changes. Hypothesis shuffles the same documents into differently named files.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_manifest_support import PROJECT, add_images, make_repo

from reconciler.manifest import load_manifests
from reconciler.state import DesiredState

DOCUMENTS = [
    PROJECT,
    PROJECT.replace("name: lora", "name: icons")
    .replace("defined_character", "icons")
    .replace("  ip_name: Lora\n", "")
    .replace("  ip_description: a female character with purple hair\n", ""),
    *(
        f"apiVersion: tailored-gen/v1\nkind: Dataset\nmetadata: {{name: {n}, project: {p}}}\n"
        f"spec: {{images: imgs-{p}, caption_prefix: 'A picture,'}}\n"
        for p, n in (("lora", "lora-v1"), ("icons", "icons-v1"), ("lora", "lora-v2"))
    ),
    *(
        f"apiVersion: tailored-gen/v1\nkind: Model\nmetadata: {{name: {n}, project: {p}}}\n"
        f"spec: {{dataset: {d}, training_version: {v}}}\n"
        for p, n, d, v in (
            ("lora", "lora-light", "lora-v1", "light"),
            ("lora", "lora-max", "lora-v2", "max"),
            ("icons", "icons-light", "icons-v1", "light"),
        )
    ),
]
_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)


def _strip_sources(state: DesiredState) -> DesiredState:
    return DesiredState(
        projects=tuple(dataclasses.replace(p, source=None) for p in state.projects),
        datasets=tuple(dataclasses.replace(d, source=None) for d in state.datasets),
        models=tuple(dataclasses.replace(m, source=None) for m in state.models),
    )


def _load(root: Path, layout: list[list[str]], names: list[str]) -> DesiredState:
    for stale in root.glob("*.yaml"):
        stale.unlink()
    for name, documents in zip(names, layout, strict=False):
        (root / f"{name}.yaml").write_text("---\n".join(documents))
    result = load_manifests([str(root)], cache_dir=root / ".cache")
    assert result.ok, [str(d) for d in result.diagnostics]
    return _strip_sources(result.state)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DesiredState]:
    """One repository for all examples; images backdated so the digest cache may keep them."""
    root = make_repo(tmp_path_factory.mktemp("order"))
    for project in ("lora", "icons"):
        for path in add_images(root / f"imgs-{project}", 2):
            os.utime(path, (1_600_000_000, 1_600_000_000))
    return root, _load(root, [DOCUMENTS], ["all"])


@settings(max_examples=2 * settings.default.max_examples)  # twice the suite's share
@given(
    order=st.permutations(range(len(DOCUMENTS))),
    cuts=st.lists(st.integers(1, len(DOCUMENTS) - 1), max_size=4, unique=True),
    names=st.lists(_names, min_size=5, max_size=5, unique=True),
)
def test_file_layout_does_not_change_the_state(
    tree: tuple[Path, DesiredState], order: list[int], cuts: list[int], names: list[str]
) -> None:
    root, reference = tree
    shuffled = [DOCUMENTS[i] for i in order]
    bounds = [0, *sorted(cuts), len(shuffled)]
    layout = [shuffled[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    assert _load(root, layout, names) == reference
    assert len(reference.datasets) == 3 and len(reference.models) == 3
