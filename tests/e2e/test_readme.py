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
    run, test = commands
    assert "reconciler apply examples/manifests --emulator --auto-approve" in run
    assert "reconciler plan examples/manifests --emulator --detailed-exitcode" in run
    # running the tool needs only the package, not the test dependencies
    assert "pip install -q . &&" in run and "[test]" not in run
    assert "pip install -q -e '.[test]'" in test
    # lint and format are checked before the tests, in the one command CI runs
    assert test.index("ruff check .") < test.index("ruff format --check .") < test.index("pytest")


def test_readme_installs_the_distribution_name_never_the_strangers_package() -> None:
    """`reconciler` on the package registry is somebody else's project."""
    name = _distribution_name()
    assert name == "bria-tailored-reconciler"
    readme = (ROOT / "README.md").read_text()
    assert f"pip install {name}" in readme
    for text in [readme, *(p.read_text() for p in (ROOT / "examples" / "ci").iterdir())]:
        assert not re.search(r"pip install (-\S+ )*reconciler\b(?![-\w])", text)


def _distribution_name() -> str:
    import tomllib

    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"])


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _quickstart_commands()[1] in ci


def test_readme_carries_the_current_manifest_reference_and_operations_pages() -> None:
    """The README documents the manifest format and the naming scheme; its copies of
    docs/manifest-reference.md and docs/operations.md must not fall behind them."""
    readme = (ROOT / "README.md").read_text()
    for page in ("manifest-reference.md", "operations.md"):
        assert (ROOT / "docs" / page).read_text().strip() in readme, f"README lags docs/{page}"
