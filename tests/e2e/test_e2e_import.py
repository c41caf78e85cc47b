"""End to end: `reconciler import` of an account made the way the console makes one.

The bar of issue 11: right after an import, `validate` passes, `plan --detailed-exitcode` exits 0
against the same account and `apply` writes nothing; import itself only ever sends GETs (checked
in the emulator's request log) and never overwrites a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from console_account import build_console_data, console_emulator, new_requests, request_counts
from e2e_support import TOKEN, run, set_knobs
from hostile_server import Answer, HostileServer, Recorded, Rule

from reconciler.client import BriaClient
from reconciler.emulator.server import EmulatorServer


@pytest.fixture(scope="module")
def console_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console account, built once for this module; each test gets its own copy."""
    return build_console_data(tmp_path_factory.mktemp("console") / "emu")


@pytest.fixture
def console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, console_data: Path
) -> Iterator[EmulatorServer]:
    monkeypatch.chdir(tmp_path)
    with console_emulator(console_data, tmp_path) as server:
        yield server


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def load(path: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(path.read_text())
    return loaded


def test_import_writes_one_folder_per_project_with_gets_only(console: EmulatorServer) -> None:
    before = request_counts(console)
    result = run(console, "import", "--out", "imported")
    assert result.exit_code == 0, result.output
    requests = new_requests(before, request_counts(console))
    assert requests and all(route.startswith("GET ") for route in requests), requests
    out = Path("imported")
    assert sorted(files_under(out)) == [
        "lora/datasets/chars.adopted.json",
        "lora/datasets/chars.yaml",
        "lora/datasets/chars/lora-beach.png",
        "lora/datasets/chars/lora-beach.txt",
        "lora/datasets/chars/lora-city.png",
        "lora/datasets/chars/lora-forest.png",
        "lora/datasets/chars/lora-forest.txt",
        "lora/datasets/chars/lora-garden.png",
        "lora/datasets/chars/lora-rain.png",
        "lora/datasets/chars/lora-snow.png",
        "lora/datasets/wip.adopted.json",
        "lora/datasets/wip.yaml",
        "lora/datasets/wip/sketch-1.png",
        "lora/datasets/wip/sketch-1.txt",
        "lora/datasets/wip/sketch-2.png",
        "lora/datasets/wip/sketch-3.png",
        "lora/models/chars-light.yaml",
        "lora/models/chars-max.yaml",
        "lora/project.yaml",
        "scenes/datasets/streets.adopted.json",
        "scenes/datasets/streets.yaml",
        "scenes/datasets/streets/street-1.png",
        "scenes/datasets/streets/street-2.png",
        "scenes/datasets/streets/street-2.txt",
        "scenes/datasets/streets/street-3.png",
        "scenes/models/streets-light.yaml",
        "scenes/project.yaml",
    ]
    assert load(out / "lora/project.yaml")["spec"] == {
        "description": "Spring campaign",
        "ip_type": "defined_character",
        "ip_medium": "illustration",
        "ip_name": "Lora",
        "ip_description": "a girl with purple hair",
    }
    assert load(out / "scenes/project.yaml")["spec"] == {
        "ip_type": "stylized_scene",
        "ip_medium": "photography",
    }
    # the default prefix is left out; the draft's own prefix and status are kept
    assert load(out / "lora/datasets/chars.yaml")["spec"] == {"images": "chars"}
    assert load(out / "lora/datasets/wip.yaml")["spec"] == {
        "images": "wip",
        "caption_prefix": "An illustration of Lora in the spring collection,",
        "status": "draft",
    }
    assert load(out / "scenes/datasets/streets.yaml")["metadata"] == {
        "name": "streets",
        "project": "scenes",
        "adopt": True,
    }
    assert (out / "lora/datasets/chars/lora-beach.txt").read_text() == (
        "Lora on a beach at sunset\n"
    )
    chars_light = load(out / "lora/models/chars-light.yaml")
    assert chars_light["metadata"] == {"name": "chars-light", "project": "lora", "protect": True}
    assert chars_light["spec"] == {
        "dataset": "chars",
        "training_version": "light",
        "description": "the fast one",
    }
    assert load(out / "lora/models/chars-max.yaml")["metadata"] == {
        "name": "chars-max",
        "project": "lora",
    }
    lock = json.loads((out / "lora/datasets/chars.adopted.json").read_text())
    assert lock["format"] == "reconciler-adoption/v1"
    assert sorted(lock["datasets"]["lora/chars"]["images"]) == [
        "lora-beach.png",
        "lora-city.png",
        "lora-forest.png",
        "lora-garden.png",
        "lora-rain.png",
        "lora-snow.png",
    ]
    # what was left out, with why
    assert "dataset.scenes/streets~1: an older version of 'streets'" in result.output
    assert "dataset.scenes/Copy of streets: its name cannot be a manifest name" in result.output
    assert "model.scenes/streets-fail-training: its training failed" in result.output
    assert "model.scenes/streets-old: it was trained on 'streets~1'" in result.output
    assert TOKEN not in result.output

    validate = run(console, "validate", "imported")
    assert validate.exit_code == 0, validate.output
    assert "0 errors" in validate.output


def test_import_refuses_to_overwrite_and_writes_nothing(console: EmulatorServer) -> None:
    first = run(console, "import", "--out", "imported", "--project", "scenes")
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in Path("imported").iterdir()) == ["scenes"]
    (Path("imported/scenes/project.yaml")).write_text("# my own edits\n")
    before = files_under(Path("imported"))
    again = run(console, "import", "--out", "imported")
    assert again.exit_code == 1, again.output
    assert "exists, not overwritten: imported/scenes/project.yaml" in again.output
    assert "nothing was written" in again.output
    assert files_under(Path("imported")) == before  # lora was not written either


def test_import_of_an_unknown_project_names_it(console: EmulatorServer) -> None:
    result = run(console, "import", "--out", "imported", "--project", "lorra")
    assert result.exit_code == 1
    assert "project 'lorra' is not in the account (did you mean 'lora'?)" in result.output
    assert not Path("imported").exists()


def test_import_into_a_folder_it_cannot_create_is_one_line(console: EmulatorServer) -> None:
    Path("taken").write_text("a file, not a folder\n")
    result = run(console, "import", "--out", "taken/imported")
    assert result.exit_code == 1
    assert "error: cannot write 'taken/imported" in result.output
    assert "nothing was written" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert Path("taken").read_text() == "a file, not a folder\n"


def test_a_manual_caption_a_manifest_cannot_hold_leaves_its_dataset_out(
    console: EmulatorServer,
) -> None:
    with BriaClient(console.url, TOKEN) as client:
        lora = next(p for p in client.list_projects() if p.project_name == "lora")
        wip = next(d for d in client.list_project_datasets(lora.id) if d.name == "wip")
        image = next(i for i in client.list_images(wip.id) if i.image_name == "sketch-2.png")
        client.update_image_caption(wip.id, image.id, caption="Lora \x1b[31min red")
    result = run(console, "import", "--out", "imported", "--project", "lora")
    assert result.exit_code == 0, result.output
    assert (
        "dataset.lora/wip: the caption of image 'sketch-2.png' contains the control character "
        "\\x1b, which a manifest cannot hold; fix the caption in the console" in result.output
    )
    assert not Path("imported/lora/datasets/wip").exists()
    validate = run(console, "validate", "imported")
    assert validate.exit_code == 0, validate.output


def test_import_through_other_faithful_answer_shapes(console: EmulatorServer) -> None:
    """The reference leaves an image list item's fields open and promises the URL only in Get
    Image by ID: a stand-in listing images without `image_url` (in another order, with unknown
    fields), whose image URLs redirect to storage, and whose models embedded in a dataset list
    leave out the dataset_id their place implies and their training_version, imports the same
    and plans clean."""
    with HostileServer(console.url) as server:
        storage = console.root_url
        moved = server.url.removesuffix("/v1") + "/moved"

        def listed(request: Recorded) -> Answer:
            images = json.loads(server.forward(request).body)
            for image in images:
                del image["image_url"], image["thumbnail_url"]
                image["labels"] = {"unknown": "field"}
            return Answer(200, images[::-1])

        def datasets(request: Recorded) -> Answer:
            listed = json.loads(server.forward(request).body)
            for dataset in listed:
                for model in dataset.get("models") or ():
                    del model["dataset_id"]  # implied by where it is embedded
                    model.pop("project_id", None)
                    del model["training_version"]  # a summary: the model list has it
            return Answer(200, listed)

        def one(request: Recorded) -> Answer:
            image = json.loads(server.forward(request).body)
            image["image_url"] = image["image_url"].replace(storage, moved)
            return Answer(200, image)

        def redirect(request: Recorded) -> Answer:
            target = storage + request.path.removeprefix("/moved")
            return Answer(302, b"", "text/plain", headers=(("Location", target),))

        server.script(
            Rule("GET", r"/v1/tailored-gen/projects/\d+/datasets", datasets),
            Rule("GET", r"/v1/tailored-gen/datasets/\d+/images", listed),
            Rule("GET", r"/v1/tailored-gen/datasets/\d+/images/\d+", one),
            Rule("GET", r"/moved/.+", redirect),
        )
        result = run(console, "import", "--out", "imported", BRIA_API_URL=server.url)
        assert result.exit_code == 0, result.output
        assert "Imported 2 projects, 3 datasets and 3 models" in result.output
        assert "/moved/" in " ".join(server.routes())  # the URLs were the redirecting ones
        planned = run(console, "plan", "imported", "--detailed-exitcode", BRIA_API_URL=server.url)
        assert planned.exit_code == 0, planned.output


def test_records_with_values_this_version_does_not_know_are_listed_not_fatal(
    console: EmulatorServer,
) -> None:
    with HostileServer(console.url) as server:

        def projects(request: Recorded) -> Answer:
            listed = json.loads(server.forward(request).body)
            for project in listed:
                if project["project_name"] == "scenes":
                    project["ip_type"] = "mascot"  # a newer API's ip_type
            return Answer(200, listed)

        def datasets(request: Recorded) -> Answer:
            listed = json.loads(server.forward(request).body)
            for dataset in listed:
                for model in dataset.get("models") or ():
                    if model["name"] == "chars-max":
                        model["status"] = "Queued"
            return Answer(200, listed)

        server.script(
            Rule("GET", r"/v1/tailored-gen/projects", projects),
            Rule("GET", r"/v1/tailored-gen/projects/\d+/datasets", datasets),
        )
        result = run(console, "import", "--out", "imported", BRIA_API_URL=server.url)
    assert result.exit_code == 0, result.output
    assert "Imported 1 project, 2 datasets and 1 model" in result.output
    assert "  - project.scenes: Bria's answer holds a value this version" in result.output
    assert "'mascot'" in result.output
    assert "  - model.lora/chars-max: Bria's answer holds a value this version" in result.output
    assert not Path("imported/scenes").exists()
    assert not Path("imported/lora/models/chars-max.yaml").exists()


def test_import_over_a_flaky_network_is_the_same_import(console: EmulatorServer) -> None:
    set_knobs(console, failure_rate=0.3, lost_response_rate=0.2, seed=7)
    result = run(console, "import", "--out", "imported")
    assert result.exit_code == 0, result.output
    assert "Imported 2 projects, 3 datasets and 3 models" in result.output
    set_knobs(console, failure_rate=0.0, lost_response_rate=0.0)
    planned = run(console, "plan", "imported", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


def test_console_names_cannot_carry_terminal_escapes_into_the_output(
    console: EmulatorServer,
) -> None:
    with BriaClient(console.url, TOKEN) as client:
        lora = next(p for p in client.list_projects() if p.project_name == "lora")
        client.create_dataset(project_id=lora.id, name="old \x1b]8;;http://x\x07set\x1b[2J")
        client.create_project(
            project_name="x\x1b[2J", ip_type="stylized_scene", ip_medium="photography"
        )
    result = run(console, "import", "--out", "imported", "--project", "lora")
    assert result.exit_code == 0, result.output
    assert "dataset.lora/old \\x1b]8;;http://x\\x07set\\x1b[2J: its name cannot be" in result.output
    unknown = run(console, "import", "--out", "other", "--project", "nope")
    assert unknown.exit_code == 1
    assert "'x\\x1b[2J'" in unknown.output  # the names the account has, escaped
    assert "\x1b" not in result.output + unknown.output and "\x07" not in result.output
