"""A plan file that Python's JSON reader cannot hold is one clear line, not an internal error.

Nesting deep enough to exhaust the recursion limit, or an integer of thousands of digits, make
`json.loads` raise RecursionError or ValueError instead of a JSONDecodeError; `show` and
`apply --plan` must still say which file, why, and how to get a good one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

CASES = {
    "deep": ("[" * 100_000 + "]" * 100_000, "is nested too deeply to read"),
    "digits": ('{"format_version": ' + "7" * 5000 + "}", "holds a number too long to read"),
}


@pytest.mark.parametrize("command", [["show"], ["apply", "--plan"]], ids=["show", "apply"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unreadable_plan_file_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], case: str
) -> None:
    monkeypatch.chdir(tmp_path)
    text, reason = CASES[case]
    (tmp_path / "plan.json").write_text(text)

    result = CliRunner().invoke(
        cli,
        [*command, "plan.json"],
        env={"BRIA_API_URL": "http://127.0.0.1:9/v1", "BRIA_API_TOKEN": "tok-x-1234"},
    )

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: plan file 'plan.json' {reason}: it is not a plan this tool wrote; make it "
        "again with `reconciler plan --out plan.json`"
    ]
