"""Issue 5's secret scan: a full run with a recognisable token (apply, plans in every format,
saved plans, --debug, a failing run, a wrong token); the token must appear in no output and in no
file the runs leave behind (plan files, `.reconciler/`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import TOKEN, World, make_world, run
from manifest_builders import png_bytes, standard_tree


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def test_the_token_appears_in_no_output_and_no_file(world: World) -> None:
    assert len(TOKEN) > 12
    world.tree = standard_tree(world.root, images=2)
    world.tree.write()
    outputs: list[str] = []

    def cli(*args: str, **env: str) -> int:
        result = run(world.server, *args, **env)
        outputs.append(result.output)
        if result.exception and not isinstance(result.exception, SystemExit):
            outputs.append(repr(result.exception))
        return result.exit_code

    assert cli("--debug", "plan", "manifests", "--out", "plan.json") == 0
    assert cli("plan", "manifests", "--format", "json") == 0
    assert cli("plan", "manifests", "--format", "markdown", "--out", "plan2.json") == 0
    assert cli("--debug", "apply", "--plan", "plan.json", "--auto-approve") == 0
    assert cli("--debug", "plan", "manifests", "--detailed-exitcode") == 0
    # a failing step (a file changed since the saved plan) and an error from the API
    world.tree.images[("lora", "lora-v1")]["lora-05.png"] = 5
    world.tree.write()
    assert cli("plan", "manifests", "--out", "plan3.json") == 0
    (world.root / "manifests/images/lora/lora-v1/lora-05.png").write_bytes(png_bytes(55))
    assert cli("--debug", "apply", "--plan", "plan3.json", "--auto-approve") == 1
    wrong = TOKEN[::-1]
    assert cli("--debug", "plan", "manifests", BRIA_API_TOKEN=wrong) == 1
    token_file = world.root / "token.txt"
    token_file.write_text(TOKEN)
    assert cli("plan", "manifests", "--token-file", str(token_file), BRIA_API_TOKEN="") == 0
    assert "401" in outputs[-2] or "Unauthorized" in outputs[-2]
    assert "debug:" in outputs[0]  # --debug did trace the HTTP calls

    for text in outputs:
        assert TOKEN not in text
        assert wrong not in text
    leaked = [
        str(path)
        for path in world.root.rglob("*")
        if path.is_file()
        and path != token_file
        and "emu" not in path.relative_to(world.root).parts[:1]
        and TOKEN.encode() in path.read_bytes()
    ]
    assert leaked == []
    assert (world.root / ".reconciler").is_dir()


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def test_a_rejected_token_from_a_token_file_names_the_file(world: World, tmp_path: Path) -> None:
    world.tree = standard_tree(world.root, images=1)
    token_file = tmp_path / "token.txt"
    token_file.write_text("wrong-token-from-file\n")
    world.tree.write()
    from_file = world.cli("plan", "manifests", "--token-file", str(token_file), BRIA_API_TOKEN="")
    assert from_file.exit_code == 1
    [line] = error_lines(from_file.output)
    assert line.endswith(f"(check the token in --token-file '{token_file}')"), line
    assert "BRIA_API_TOKEN" not in line
    assert "wrong-token-from-file" not in from_file.output
    from_env = world.cli("plan", "manifests", BRIA_API_TOKEN="wrong-token-from-env")
    assert from_env.exit_code == 1
    [line] = error_lines(from_env.output)
    assert line.endswith("(check BRIA_API_TOKEN)"), line
    assert "wrong-token-from-env" not in from_env.output


def test_a_token_pasted_into_a_manifest_never_reaches_a_saved_plan(world: World) -> None:
    world.tree = standard_tree(world.root, images=1)
    world.tree.models[("lora", "lora-light")]["spec"]["description"] = f"key {TOKEN}"
    plan_file = world.root / "plan.json"
    saved = world.plan("--out", str(plan_file))
    assert saved.exit_code == 1
    assert not plan_file.exists()
    assert TOKEN not in saved.output
    assert error_lines(saved.output)[-1] == (
        f"error: plan file '{plan_file}' was not written: the plan holds the API token (in "
        "model.lora/lora-light), which would then sit in the file in clear: remove the token "
        "from the manifests"
    )
    for path in (world.root / ".reconciler").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    shown = world.plan("--format", "json")  # on screen it is redacted, as everywhere
    assert shown.exit_code == 0 and TOKEN not in shown.output and '"key ***"' in shown.output


def test_a_401_in_the_middle_of_an_apply_names_the_token_file(world: World, tmp_path: Path) -> None:
    """The token was fine for the plan's reads; a step's 401 (the token revoked meanwhile) still
    says to check the file it came from, not BRIA_API_TOKEN."""
    from hostile_server import Answer, HostileServer, Rule

    world.tree = standard_tree(world.root, images=1)
    world.tree.write()
    token_file = tmp_path / "token.txt"
    token_file.write_text(TOKEN + "\n")
    revoked = Answer(401, {"message": "Unauthorized: invalid api_token"})
    with HostileServer(world.server.url) as hostile:
        hostile.script(Rule("POST", "/v1/tailored-gen/datasets", revoked))
        applied = world.cli(
            "apply", "manifests", "--auto-approve", "--token-file", str(token_file),
            BRIA_API_URL=hostile.url, BRIA_API_TOKEN="",
        )  # fmt: skip
    assert applied.exit_code == 1, applied.output
    assert "Failed: " in applied.output
    failed = next(line for line in applied.output.splitlines() if line.startswith("Failed: "))
    assert "POST /tailored-gen/datasets: 401 Unauthorized" in failed
    assert failed.endswith(f"(check the token in --token-file '{token_file}')"), failed
    assert "BRIA_API_TOKEN" not in applied.output
    assert TOKEN not in applied.output
