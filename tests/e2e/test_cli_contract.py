"""The command line's contract: conflicting flags are errors, the apply prompt (no: exit 1
"Apply cancelled"; Ctrl-C: 130; end of input handled; a closed stdin: test_cli_local_failures.py),
Ctrl-C anywhere exits 130, `.reconciler/` is anchored at the repository root, and every --help has
a summary that fits, examples and exit codes.

The prompt runs the real CLI as a subprocess on a pseudo-terminal, as a person would see it.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from e2e_support import TOKEN, admin, running_emulator
from manifest_builders import ManifestTree

from reconciler.cli import cli
from reconciler.commands.help_texts import SUMMARY_LIMIT


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git work tree (a `.git` folder) with one project manifest under sub/manifests."""
    (tmp_path / ".git").mkdir()
    tree = ManifestTree(tmp_path / "sub")
    tree.project("lora")
    tree.write()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIA_")}
    return {**env, "NO_COLOR": "1", **extra}


# ---- conflicting flags


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apply", "--plan", "p.json", "--prune"], "--plan and --prune cannot be used together"),
        (["apply", "sub/manifests", "--plan", "p.json"], "--plan and PATHS (sub/manifests)"),
        (["apply", "--plan", "p.json", "--strict"], "--plan and --strict cannot be used"),
        (
            ["plan", "sub/manifests", "--emulator", "--api-url", "http://127.0.0.1:9/v1"],
            "--emulator and --api-url cannot be used together",
        ),
        (
            ["apply", "sub/manifests", "--emulator", "--api-url", "http://127.0.0.1:9/v1"],
            "--emulator and --api-url cannot be used together",
        ),
        (
            ["plan", "sub/manifests", "--emulator", "--token-file", "t"],
            "--emulator and --token-file cannot be used together",
        ),
        (
            ["import", "--emulator", "--api-url", "http://127.0.0.1:9/v1"],
            "--emulator and --api-url cannot be used together",
        ),
    ],
)
def test_conflicting_flags_are_one_error_and_exit_1(
    repo: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, args, env=_env())
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert not (repo / ".reconciler" / "emulator").exists()  # refused before running anything


# ---- the apply prompt on a terminal


def _apply_on_a_terminal(repo: Path, keys: bytes | None, sigint: bool = False) -> tuple[int, str]:
    """Run `apply --emulator` with a pseudo-terminal as stdin; at the prompt type `keys` or
    press Ctrl-C. Returns (exit code, everything printed)."""
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "sub/manifests", "--emulator"],
        cwd=repo,
        env=_env(),
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    os.close(secondary)
    assert process.stdout is not None
    output = b""
    deadline = time.monotonic() + 60
    try:
        while b"Apply these changes? [y/N]" not in output:
            assert time.monotonic() < deadline, output.decode()
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                assert chunk, output.decode()  # ended before asking
                output += chunk
        if sigint:
            process.send_signal(signal.SIGINT)
        else:
            assert keys is not None
            os.write(primary, keys)
        rest, _ = process.communicate(timeout=60)
        output += rest
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()
    return process.returncode, output.decode()


def _plan_exit_code(repo: Path) -> int:
    return (
        CliRunner()
        .invoke(cli, ["plan", "sub/manifests", "--emulator", "--detailed-exitcode"], env=_env())
        .exit_code
    )


def test_answering_no_cancels_with_exit_1(repo: Path) -> None:
    code, output = _apply_on_a_terminal(repo, b"n\n")
    assert code == 1, output
    assert "error: Apply cancelled; nothing was changed" in output
    assert _plan_exit_code(repo) == 2  # nothing was changed


def test_an_empty_answer_is_no(repo: Path) -> None:
    code, output = _apply_on_a_terminal(repo, b"\n")
    assert code == 1 and "Apply cancelled" in output, output


def test_end_of_input_at_the_prompt_cancels(repo: Path) -> None:
    code, output = _apply_on_a_terminal(repo, b"\x04")  # Ctrl-D
    assert code == 1, output
    assert "Apply cancelled: no answer (end of input)" in output
    assert "Traceback" not in output


def test_ctrl_c_at_the_prompt_exits_130(repo: Path) -> None:
    code, output = _apply_on_a_terminal(repo, None, sigint=True)
    assert code == 130, output
    assert "interrupted" in output and "Traceback" not in output
    assert _plan_exit_code(repo) == 2


def test_yes_applies(repo: Path) -> None:
    code, output = _apply_on_a_terminal(repo, b"y\n")
    assert code == 0, output
    assert "Apply complete" in output
    assert _plan_exit_code(repo) == 0


def test_an_answer_piped_in_is_not_a_confirmation(repo: Path) -> None:
    """`echo y | apply` must not apply: only a person at a terminal (or --auto-approve) can."""
    for answer in ("n\n", "y\n"):
        result = CliRunner().invoke(cli, ["apply", "sub/manifests", "--emulator"], input=answer)
        assert result.exit_code == 1, result.output
        assert "error: refusing to apply without confirmation" in result.stderr
    assert _plan_exit_code(repo) == 2


def server_requests(server: object) -> int:
    """API requests the emulator has received (counted on arrival, before its latency)."""
    return int(admin(server, "GET", "stats")["requests"])  # type: ignore[arg-type]


def test_ctrl_c_while_planning_exits_130(repo: Path, tmp_path: Path) -> None:
    # each request takes 0.5 s: the signal lands while the first one is in flight (a plan makes
    # several), and the emulator's stop waits out only that one
    with running_emulator(tmp_path / "emu", latency=0.5) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "plan", "sub/manifests"],
            cwd=repo,
            env=_env(BRIA_API_URL=server.url, BRIA_API_TOKEN=TOKEN),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not server_requests(server):  # until the first request is in flight
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr


# ---- .reconciler/ at the repository root


def test_state_is_anchored_at_the_repository_root(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = CliRunner().invoke(
        cli, ["apply", "sub/manifests", "--emulator", "--auto-approve"], env=_env()
    )
    assert first.exit_code == 0, first.output
    state = repo / ".reconciler"
    assert f"Emulator: the account in '{state / 'emulator'}'" in first.stderr
    assert (state / ".gitignore").read_text().splitlines()[-1] == "*"  # ignores itself in git

    monkeypatch.chdir(repo / "sub")  # from a subfolder: the same account, no new state
    again = CliRunner().invoke(
        cli, ["plan", "manifests", "--emulator", "--detailed-exitcode"], env=_env()
    )
    assert again.exit_code == 0, again.output
    assert f"Emulator: the account in '{state / 'emulator'}'" in again.stderr
    assert not (repo / "sub" / ".reconciler").exists()

    monkeypatch.chdir(repo)
    init = CliRunner().invoke(cli, ["init"], env=_env())
    assert init.exit_code == 0, init.output
    assert (repo / ".gitignore").read_text() == ".reconciler/\n"
    twice = CliRunner().invoke(cli, ["init"], env=_env())
    assert "already lists '.reconciler/'" in twice.output
    assert (repo / ".gitignore").read_text() == ".reconciler/\n"


def test_outside_git_state_is_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = ManifestTree(tmp_path)
    tree.project("lora")
    tree.write()
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(cli, ["plan", "manifests", "--emulator"], env=_env())
    assert done.exit_code == 0, done.output
    assert (tmp_path / ".reconciler" / "emulator").is_dir()


# ---- help


def _commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []

    def walk(prefix: str, group: click.Group) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):  # cli.py imports commands lazily
            command = group.get_command(ctx, name)
            assert command is not None, name
            found.append((f"{prefix}{name}", command))
            if isinstance(command, click.Group):
                walk(f"{prefix}{name} ", command)

    walk("", cli)
    return found


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_every_help_has_a_summary_that_fits_an_example_and_exit_codes(
    name: str, command: click.Command
) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert command.short_help and len(command.short_help) <= SUMMARY_LIMIT
    assert "Examples:\n" in result.output and "  reconciler " in result.output
    assert "Exit codes:\n" in result.output and "    0   " in result.output


@pytest.mark.parametrize("name", ["", *(n for n, _ in _commands())])
def test_a_bad_flag_exits_1_everywhere(name: str) -> None:
    """2 is "changes" under --detailed-exitcode, so no command of the plan/apply flow uses it
    for a usage error; the emulator (a server) keeps click's 2, as its help says."""
    result = CliRunner().invoke(cli, [*name.split(), "--no-such-flag"])
    assert result.exit_code == (2 if name == "emulator" else 1), result.output
    assert "No such option '--no-such-flag'" in result.output


def test_the_command_list_is_not_truncated_and_documents_color_and_completion() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    listing = result.output.split("Commands:", 1)[1].split("\n\n", 1)[0]
    assert "..." not in listing, listing
    assert "NO_COLOR" in result.output
    assert "_RECONCILER_COMPLETE=bash_source reconciler" in result.output


def test_no_color_turns_colours_off_even_where_they_would_be_on(repo: Path) -> None:
    (repo / "sub" / "manifests" / "lora.yaml").write_text("apiVersion: tailored-gen/v1\nkind: X\n")
    args = ["validate", "sub/manifests"]
    coloured = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": ""})
    assert coloured.exit_code == 1 and "\x1b[" in coloured.output
    plain = CliRunner().invoke(cli, args, color=True, env={"NO_COLOR": "1"})
    assert plain.exit_code == 1 and "\x1b[" not in plain.output
    assert "error: unknown kind 'X'" in plain.output


def test_an_unwritable_state_folder_does_not_stop_validate(repo: Path) -> None:
    """A read-only checkout (here: a file where `.reconciler/` would go, which even root cannot
    turn into a folder) still validates; only the digest cache stays cold."""
    (repo / ".reconciler").write_text("not a folder")
    result = CliRunner().invoke(cli, ["validate", "sub/manifests"], env=_env())
    assert result.exit_code == 0, result.output
