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
