"""The README's quickstart is what CI runs: its test command appears verbatim in .ci/run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quickstart has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quickstart_has_exactly_two_commands() -> None:
    commands = _quickstart_commands()
    assert len(commands) == 2
    assert "reconciler apply examples/manifests --emulator --auto-approve" in commands[0]
    assert "reconciler plan examples/manifests --emulator --detailed-exitcode" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _quickstart_commands()[1] in ci


def test_readme_carries_the_current_manifest_reference_and_operations_pages() -> None:
    """The README documents the manifest format and the naming scheme; its copies of
    docs/manifest-reference.md and docs/operations.md must not fall behind them."""
    readme = (ROOT / "README.md").read_text()
    for page in ("manifest-reference.md", "operations.md"):
        assert (ROOT / "docs" / page).read_text().strip() in readme, f"README lags docs/{page}"
