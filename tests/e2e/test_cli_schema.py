"""`reconciler schema generate PROJECT/DATASET`: the real CLI against the embedded emulator's
current profile writes the visual schema file for review and changes nothing in the account."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ENV = {"BRIA_API_TOKEN": "", "NO_COLOR": "1"}
CURRENT = ("--emulator", "--emulator-profile", "current")
BADGES = "examples/manifests-current/acme-badges"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "manifests-current", tmp_path / "examples" / "manifests-current")
    shutil.copytree(EXAMPLES / "manifests", tmp_path / "examples" / "manifests")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=ENV)


def test_writes_the_file_spec_visual_schema_names_and_changes_nothing(repo: Path) -> None:
    target = repo / BADGES / "visual-schema.json"
    result = run(
        "schema", "generate", "acme-badges/acme-badges-v1", "examples/manifests-current", *CURRENT
    )
    assert result.exit_code == 0, result.output
    assert (
        f"{BADGES}/visual-schema.json: updated (the visual schema Bria made from 8 images of "
        "dataset 'acme-badges/acme-badges-v1')"
    ) in result.output
    assert "the next 'apply' sets it" in result.output
    schema = json.loads(target.read_text())
    assert isinstance(schema, dict) and schema["style"]
    again = run(
        "schema", "generate", "acme-badges/acme-badges-v1", "examples/manifests-current", *CURRENT
    )
    assert ": unchanged (" in again.output  # the same images make the same schema
    planned = run("plan", "examples/manifests-current", *CURRENT, "--format", "json")
    plan = json.loads(planned.stdout)
    project = next(c for c in plan["changes"] if c["address"] == "project.acme-badges")
    assert project["action"] == "create"  # the account is still empty


def test_a_dataset_without_a_schema_gets_a_file_beside_its_manifest(repo: Path) -> None:
    result = run("schema", "generate", "lora/lora-v1", "examples/manifests", *CURRENT)
    assert result.exit_code == 0, result.output
    written = repo / "examples/manifests/lora/lora-v1.visual-schema.json"
    assert json.loads(written.read_text())
    assert "point the dataset's spec.visual_schema at it in examples/manifests/lora/lora.yaml" in (
        result.output
    )


def test_images_and_out(repo: Path) -> None:
    pictures = sorted(str(p) for p in (repo / BADGES / "images").glob("*.png"))
    out = repo / "review" / "schema.json"
    args = ["schema", "generate", "acme-badges/acme-badges-v1", "examples/manifests-current"]
    chosen = [flag for path in pictures[:5] for flag in ("--images", path)]
    result = run(*args, *chosen, "--out", str(out), *CURRENT)
    assert result.exit_code == 0, result.output
    assert "made from 5 images" in result.output and json.loads(out.read_text())
    few = [flag for path in pictures[:4] for flag in ("--images", path)]
    refused = run(*args, *few, *CURRENT)
    assert refused.exit_code == 1
    assert (
        "error: --images gives 4 images; Generate Visual Schema takes 5-10 sample images"
        in refused.output
    )


def test_an_undeclared_dataset_and_the_reference_profile_are_clear_errors(repo: Path) -> None:
    missing = run(
        "schema", "generate", "acme-badges/acme-badge-v1", "examples/manifests-current", *CURRENT
    )
    assert missing.exit_code == 1
    assert (
        "error: dataset 'acme-badges/acme-badge-v1' is not declared in the manifests (did you "
        "mean 'acme-badges/acme-badges-v1'?)"
    ) in missing.output
    reference = run(
        "schema",
        "generate",
        "acme-badges/acme-badges-v1",
        "examples/manifests-current",
        "--emulator",
    )
    assert reference.exit_code == 1
    assert "404 Not Found" in reference.output
    assert "add --emulator-profile current" in reference.output


def test_ten_images_are_sent_eleven_and_wrong_files_are_refused_before_any_call(
    repo: Path,
) -> None:
    pictures = sorted(str(p) for p in (repo / BADGES / "images").glob("*.png"))
    args = ["schema", "generate", "acme-badges/acme-badges-v1", "examples/manifests-current"]
    ten = [flag for path in (pictures + pictures)[:10] for flag in ("--images", path)]
    sent = run(*args, *ten, "--out", "ten.json", *CURRENT)
    assert sent.exit_code == 0, sent.output
    assert "made from 10 images" in sent.output
    eleven = run(*args, *ten, "--images", pictures[0], *CURRENT)
    assert eleven.exit_code == 1
    assert "error: --images gives 11 images; Generate Visual Schema takes 5-10" in eleven.output
    manifest = f"{BADGES}/acme-badges.yaml"
    for wrong, problem in (
        (manifest, f"error: image '{manifest}' is not a jpeg, png or webp image (its content "),
        ("nope.png", "error: image 'nope.png' cannot be read (No such file or directory)"),
    ):
        four = [flag for path in pictures[:4] for flag in ("--images", path)]
        refused = run(*args, *four, "--images", wrong, "--out", "wrong.json", *CURRENT)
        assert refused.exit_code == 1, refused.output
        (line,) = [line for line in refused.output.splitlines() if line.startswith("error:")]
        assert line.startswith(problem), line
        assert "Traceback" not in refused.output
    assert not (repo / "wrong.json").exists()


def test_public_urls_are_sent_as_given(repo: Path) -> None:
    import base64

    from hostile_server import Answer, HostileServer, Rule

    pictures = sorted(str(p) for p in (repo / BADGES / "images").glob("*.png"))
    url = "https://cdn.example.com/badges/bell.png"
    args = ["schema", "generate", "acme-badges/acme-badges-v1", "examples/manifests-current"]
    chosen = [flag for path in [*pictures[:4], url] for flag in ("--images", path)]
    with HostileServer() as bria:
        answer = Answer(200, {"visual_schema": '{"style": "flat"}'})
        bria.script(Rule("POST", r"/v1/tailored-gen/generate_visual_schema", answer))
        env = {"BRIA_API_URL": bria.url, "BRIA_API_TOKEN": "tok-schema-urls", "NO_COLOR": "1"}
        result = CliRunner().invoke(cli, [*args, *chosen, "--out", "s.json"], env=env)
        assert result.exit_code == 0, result.output
        (sent,) = bria.requests
    images = json.loads(sent.body)["images"]
    assert images[4] == url and len(images) == 5
    assert base64.b64decode(images[0]) == Path(pictures[0]).read_bytes()
    assert json.loads((repo / "s.json").read_text()) == {"style": "flat"}
