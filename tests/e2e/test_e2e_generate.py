"""End to end: `reconciler generate` against the emulator over HTTP, after a short training.

Writes the images of text-to-image, text-to-vector and reimagine with a sidecar; refuses every
broken parameter rule with its own one-line message and no API call at all (the emulator's
request counts stay as they were); results an interrupted run paid for are downloaded by the
next run of the same request, not generated again.
"""

# ruff: noqa: E501  (the table of refusals reads best one rule per line)

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import TOKEN, World, make_world, set_knobs
from manifest_builders import ManifestTree, image_files, png_bytes

from reconciler.emulator.server import EmulatorServer


def _tree(root: Path) -> ManifestTree:
    tree = ManifestTree(root)
    tree.project("lora")
    tree.dataset("lora", "lora-v1", image_files(2, prefix="lora"))
    tree.model("lora", "lora-light", "lora-v1")
    tree.model("lora", "lora-max", "lora-v1", training_version="max")
    tree.project("photo", ip_type="stylized_scene", ip_medium="photography")
    tree.dataset("photo", "photo-v1", image_files(2, prefix="photo", first_seed=50))
    tree.model("photo", "photo-light", "photo-v1")
    return tree


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def _trained(world: World) -> World:
    set_knobs(world.server, training_seconds=0.1)
    world.tree = _tree(world.root)
    world.apply()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        models = [m for m in world.raw_state()["models"] if m["status"] != "Deleted"]
        if all(m["status"] == "Completed" for m in models):
            return world
        time.sleep(0.05)
    raise AssertionError("training did not complete")


def _generation_calls(server: EmulatorServer) -> int:
    from e2e_support import admin

    routes = admin(server, "GET", "stats")["by_route"]
    return sum(n for route, n in routes.items() if "tailored/" in route and "gen" not in route)


def _requests(server: EmulatorServer) -> int:
    from e2e_support import admin

    return int(admin(server, "GET", "stats")["requests"])


def test_text_to_image_writes_images_and_sidecars(world: World) -> None:
    _trained(world)
    result = world.cli(
        "generate", "lora/lora-light", "manifests", "--prompt", "Lora waving, smiling",
        "--num-results", "2", "--seed", "11", "--aspect-ratio", "4:3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 2
    assert all(p.parent == Path("generated/lora/lora-light~1") for p in paths)
    assert [p.read_bytes()[:4] for p in paths] == [b"\x89PNG"] * 2
    sidecar = json.loads(paths[0].with_suffix(".json").read_text())
    assert sidecar["model"] == "lora/lora-light~1"
    assert sidecar["route"] == "text-to-image"
    assert sidecar["request"] == {
        "prompt": "Lora waving, smiling",
        "num_results": 2,
        "aspect_ratio": "4:3",
        "seed": 11,
    }
    assert [json.loads(p.with_suffix(".json").read_text())["result"]["seed"] for p in paths] == [
        11,
        12,
    ]
    assert TOKEN not in paths[0].with_suffix(".json").read_text()
    assert "generating 2 image(s) with 'lora/lora-light~1'" in result.stderr


def test_vector_reimagine_guidance_and_max(world: World) -> None:
    _trained(world)
    (world.root / "edges.png").write_bytes(png_bytes(7))
    (world.root / "depth.png").write_bytes(png_bytes(8))
    vector = world.cli(
        "generate", "lora/lora-light", "manifests", "--prompt", "an icon", "--vector",
        "--num-results", "1", "--out", "vec",
    )  # fmt: skip
    assert vector.exit_code == 0, vector.output
    (svg,) = vector.stdout.splitlines()
    assert svg.startswith("vec/") and svg.endswith(".svg")
    assert Path(svg).read_bytes().startswith(b"<svg")
    reimagined = world.cli(
        "generate", "lora/lora-light", "manifests", "--prompt", "Lora in a garden",
        "--structure-image", "edges.png", "--num-results", "1",
    )  # fmt: skip
    assert reimagined.exit_code == 0, reimagined.output
    (path,) = reimagined.stdout.splitlines()
    described = json.loads(Path(path).with_suffix(".json").read_text())
    assert described["route"] == "reimagine"
    assert described["request"]["structure_image_file"]["file"] == "edges.png"
    guided = world.cli(
        "generate", "lora/lora-light", "manifests", "--prompt", "Lora",
        "--guidance", "controlnet_canny=edges.png:0.6", "--guidance", "controlnet_depth=depth.png",
        "--image-prompt", "edges.png", "--image-prompt-mode", "style_only",
    )  # fmt: skip
    assert guided.exit_code == 0, guided.output
    assert len(guided.stdout.splitlines()) == 1  # num_results omitted with guidance: 1
    sent = json.loads(Path(guided.stdout.strip()).with_suffix(".json").read_text())["request"]
    assert sent["num_results"] == 1 and sent["guidance_method_1_scale"] == 0.6
    matching = world.cli(
        "generate", "lora/lora-light", "manifests", "--prompt", "Lora", "--aspect-ratio", "1:1",
        "--guidance", "controlnet_canny=edges.png",
    )  # fmt: skip
    assert matching.exit_code == 0, matching.output  # the guidance image's own ratio: fine
    calls = _generation_calls(world.server)
    unwritable = world.cli(
        "generate", "lora/lora-light", "manifests", "--prompt", "Lora", "--out", "edges.png/out"
    )
    assert unwritable.exit_code == 1
    assert unwritable.stderr.strip().splitlines()[-1] == (
        "error: cannot write the results to 'edges.png/out' (--out): Not a directory; nothing "
        "was generated"
    )
    assert _generation_calls(world.server) == calls  # refused before the paid call
    heavy = world.cli("generate", "lora/lora-max", "manifests", "--prompt", "Lora")
    assert heavy.exit_code == 0, heavy.output
    assert len(heavy.stdout.splitlines()) == 2  # fast=false is sent for max: 2 results
    sent = json.loads(Path(heavy.stdout.split()[0]).with_suffix(".json").read_text())["request"]
    assert sent["fast"] is False


def test_asynchronous_results_are_polled_and_a_failed_call_is_not_repeated(world: World) -> None:
    _trained(world)
    set_knobs(world.server, generation_seconds=0.4)
    result = world.cli(
        "generate", "lora/lora-light", "manifests", "--prompt", "Lora", "--num-results", "1"
    )
    assert result.exit_code == 0, result.output
    assert "waiting for 1 of 1 results to be ready" in result.stderr
    assert Path(result.stdout.strip()).read_bytes().startswith(b"\x89PNG")
    set_knobs(world.server, generation_seconds=60)  # never ready within the timeout below
    timed_out = world.cli(
        "generate", "lora/lora-light", "manifests", "--prompt", "Lora", "--num-results", "1",
        "--wait-timeout", "0.3",
    )  # fmt: skip
    assert timed_out.exit_code == 1
    assert "1 of 1 results were not ready after" in timed_out.stderr
    from reconciler.generation.results import GenerationFailed, call_route
    from reconciler.generation.rules import GenerationRequest

    model_id = next(m["id"] for m in world.raw_state()["models"] if m["name"] == "lora-light")
    request = GenerationRequest("text-to-image", model_id, {"prompt": "Lora"}, {"prompt": "Lora"})
    set_knobs(world.server, generation_seconds=0, failure_rate=1.0)  # every call: a 500
    calls = _generation_calls(world.server)
    with world.client() as client, pytest.raises(GenerationFailed) as failed:
        call_route(client, request)
    message = str(failed.value)
    assert message.startswith(f"POST /text-to-image/tailored/{model_id}: 500"), message
    assert "not retried, as Bria may have generated (and charged for) the images" in message
    assert _generation_calls(world.server) == calls + 1  # one paid call, never repeated


def test_results_an_interrupted_generate_paid_for_are_downloaded_not_generated_again(
    world: World,
) -> None:
    _trained(world)
    set_knobs(world.server, generation_seconds=0.6)  # not ready within the first run's timeout
    args = ("generate", "lora/lora-light", "manifests", "--prompt", "Lora waving",
            "--num-results", "1", "--seed", "7")  # fmt: skip
    first = world.cli(*args, "--wait-timeout", "0.2")
    assert first.exit_code == 1, first.output
    assert "1 of 1 results were not ready after" in first.stderr
    paid = _generation_calls(world.server)
    assert paid == 1
    second = world.cli(*args)
    assert second.exit_code == 0, second.output
    assert "downloading the results an interrupted run of this request paid for" in second.stderr
    assert "generating 1 image(s)" not in second.stderr
    assert _generation_calls(world.server) == paid  # paid once, downloaded by the next run
    assert Path(second.stdout.strip()).read_bytes().startswith(b"\x89PNG")
    # a run that finished leaves nothing pending: asking again generates again
    third = world.cli(*args, "--out", "again")
    assert third.exit_code == 0, third.output
    assert "interrupted run" not in third.stderr
    assert _generation_calls(world.server) == paid + 1


REFUSALS = [
    (["lora/lora-light", "--num-results", "5"], "--num-results 5 is out of range: Bria generates 1 to 4"),
    (["lora/lora-light", "--num-results", "0"], "--num-results 0 is out of range"),
    (["lora/lora-light", "--steps", "3"], "--steps 3 is out of range: in fast mode steps_num must be 4-20"),
    (["lora/lora-light", "--steps", "21"], "in fast mode steps_num must be 4-20"),
    (["lora/lora-light", "--no-fast", "--steps", "19"], "in regular mode (--no-fast) steps_num must be 20-50"),
    (["lora/lora-light", "--no-fast", "--steps", "51"], "steps_num must be 20-50"),
    (["lora/lora-max", "--steps", "8"], "in regular mode (--no-fast) steps_num must be 20-50"),
    (["lora/lora-light", "--no-fast", "--num-results", "3"], "--num-results 3 is not supported without fast mode"),
    (["lora/lora-max", "--fast"], "does not support fast generation"),
    (["lora/lora-max", "--guidance", "controlnet_canny=edges.png"], "does not support guidance methods: drop --guidance"),
    (["lora/lora-max", "--image-prompt", "edges.png"], "such as the IP-Adapter: drop --image-prompt"),
    (["lora/lora-max", "--structure-image", "edges.png"], "structure reference (--structure-image, reimagine) needs a 'light' model"),
    (["lora/lora-light", "--guidance", "controlnet_canny=edges.png", "--num-results", "2"], "--num-results 2 cannot be used with a guidance method"),
    (["lora/lora-light", "--image-prompt", "edges.png", "--num-results", "4"], "--num-results 4 cannot be used with a guidance method"),
    (["lora/lora-light", "--guidance", "controlnet_canny=edges.png", "--guidance", "controlnet_depth=edges.png", "--guidance", "controlnet_recoloring=edges.png"], "3 guidance methods given: Bria takes at most 2"),
    (["lora/lora-light", "--guidance", "controlnet_sketch=edges.png"], "guidance method 'controlnet_sketch' (--guidance #1) is not one Bria offers"),
    (["lora/lora-light", "--guidance", "controlnet_canny="], "guidance method 'controlnet_canny' has no image"),
    (["lora/lora-light", "--guidance", "controlnet_canny"], "is not METHOD=IMAGE[:SCALE]"),
    (["lora/lora-light", "--guidance", "controlnet_canny=edges.png:1.5"], "guidance scale 1.5 for 'controlnet_canny' is out of range"),
    (["lora/lora-light", "--guidance", "controlnet_canny=missing.png"], "guidance image for 'controlnet_canny' 'missing.png' does not exist"),
    (["lora/lora-light", "--guidance", "controlnet_canny=notes.txt"], "'notes.txt' is not a jpeg, png or webp image"),
    (["lora/lora-light", "--guidance", "controlnet_canny=big.png"], "Bria accepts at most 12 MB"),
    (["lora/lora-light", "--guidance", "controlnet_canny=edges.png", "--guidance", "controlnet_depth=wide.png"], "have different aspect ratios"),
    (["lora/lora-light", "--image-prompt", "anim.gif"], "image prompt (--image-prompt) 'anim.gif' is not a jpeg, png or webp image"),
    (["lora/lora-light", "--image-prompt-mode", "style_only"], "--image-prompt-mode needs --image-prompt"),
    (["lora/lora-light", "--image-prompt", "edges.png", "--image-prompt-mode", "content"], "image prompt mode 'content' is not one Bria offers"),
    (["lora/lora-light", "--aspect-ratio", "7:5"], "aspect ratio '7:5' is not one Bria offers"),
    (["lora/lora-light", "--aspect-ratio", "16:9", "--guidance", "controlnet_canny=edges.png"], "--aspect-ratio 16:9 does not match the guidance image 'edges.png'"),
    (["photo/photo-light", "--vector"], "text-to-vector is compatible only with illustration projects"),
    (["lora/lora-light", "--vector", "--structure-image", "edges.png"], "--vector and --structure-image cannot be combined"),
    (["lora/lora-light", "--structure-image", "edges.png", "--guidance", "controlnet_canny=edges.png"], "--guidance cannot be combined with --structure-image"),
    (["lora/lora-light", "--structure-image", "edges.png", "--aspect-ratio", "1:1"], "--aspect-ratio 1:1 cannot be combined with --structure-image"),
    (["lora/lora-light", "--prompt", "Lora mit Blumen \u00fcberall"], "the prompt contains '\u00fc': Bria supports prompts in English only"),
    (["lora/lora-light", "--prompt", "Lora <b>bold</b>"], "the prompt contains '<'"),
    (["lora/lora-light", "--prompt", "Lora #1 fan"], "the prompt contains '#'"),
    (["lora/lora-light", "--prompt", "   "], "the prompt is empty"),
    (["lora/lora-light", "--num-results", "two"], "'two' is not a valid integer"),
    (["lora/lora-light", "--seed", "-1"], "Invalid value for '--seed': -1 is not in the range x>=0"),
    (["lora/lora-light", "--wait-timeout", "0"], "Invalid value for '--wait-timeout': 0.0 is not in the range x>0"),
    (["lora/nobody"], "model 'lora/nobody' is not declared in the manifests read"),
    (["lora-light"], "'lora-light' is not PROJECT/MODEL"),
]  # fmt: skip


def test_each_broken_rule_is_refused_with_its_own_message_and_no_call(world: World) -> None:
    _trained(world)
    (world.root / "edges.png").write_bytes(png_bytes(7))
    (world.root / "notes.txt").write_text("not an image\n")
    (world.root / "big.png").write_bytes(b"\x89PNG" + b"\0" * 12_000_001)
    from PIL import Image

    Image.new("RGB", (300, 100), "white").save(world.root / "wide.png")
    Image.new("RGB", (100, 100), "white").save(world.root / "anim.gif")
    before = _requests(world.server)
    messages = set()
    for args, expected in REFUSALS:
        prompt = [] if "--prompt" in args else ["--prompt", "Lora waving"]
        result = world.cli("generate", args[0], "manifests", *prompt, *args[1:])
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert expected in lines[0], (args, lines[0])
        messages.add(lines[0])
    assert len(messages) == len(REFUSALS)  # each rule its own message
    assert _requests(world.server) == before  # not one API call
    assert not Path("generated").exists()


def test_a_model_still_training_is_refused_before_generating(world: World) -> None:
    set_knobs(world.server, training_seconds=60)
    world.tree = _tree(world.root)
    world.apply()
    result = world.cli("generate", "lora/lora-light", "manifests", "--prompt", "Lora")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: model 'lora/lora-light~1' is InProgress, not Completed: it cannot generate yet "
        "(see 'reconciler status'; training takes 1-3 hours)"
    )
    assert _generation_calls(world.server) == 0
