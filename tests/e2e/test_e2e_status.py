"""End to end: `reconciler status` against the emulator over HTTP with short training: right
after apply, during training, after completion, and after a retrain (older versions, a superseded
version still training, the time left estimated from the account's own training seen before).
Text and JSON, the JSON validated against schemas/status.schema.json; read-only (GETs only)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from e2e_support import World, admin, make_world, set_knobs
from manifest_builders import standard_tree

SCHEMA = json.loads(
    resources.files("reconciler.schemas").joinpath("status.schema.json").read_text()
)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch)


def _status_json(world: World, **env: str) -> dict[str, Any]:
    result = world.cli("status", "manifests", "--format", "json", **env)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    return data


def _model(data: dict[str, Any], name: str) -> dict[str, Any]:
    (project,) = data["projects"]
    return next(m for m in project["models"] if m["name"] == name)


def _wait_completed(world: World, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        models = [m for m in world.raw_state()["models"] if m["status"] != "Deleted"]
        if models and all(m["status"] == "Completed" for m in models):
            return
        time.sleep(0.05)
    raise AssertionError("training did not complete")


def test_status_before_right_after_during_after_training_and_after_a_retrain(world: World) -> None:
    world.tree = standard_tree(world.root, images=3)
    world.tree.write()
    before = world.cli("status", "manifests")
    assert before.exit_code == 0, before.output
    assert "project lora: not in the account yet (run 'reconciler apply')" in before.stdout
    data = _status_json(world)
    assert data["projects"][0]["id"] is None

    # long enough that the statuses "right after" and "during" see it training on a loaded
    # machine (they take 0.06 s on an idle one); _wait_completed polls, so no longer than this
    set_knobs(world.server, training_seconds=1.2)
    world.apply()
    requests_before = admin(world.server, "GET", "stats")["by_route"]
    right_after = world.cli("status", "manifests")
    assert right_after.exit_code == 0, right_after.output
    lines = right_after.stdout.splitlines()
    assert lines[0].startswith("project lora (id ")
    assert lines[1].split() == ["DATASET", "VERSION", "ID", "STATUS", "IMAGES", "CAPTIONS", "OLDER"]
    assert lines[2].split()[:2] == ["lora-v1", "lora-v1"]
    assert lines[2].split()[3:7] == ["completed", "3", "empty", "-"]
    model_line = lines[4].split()
    assert model_line[:2] == ["lora-light", "lora-light"] and model_line[3:6] == [
        "InProgress",
        "light",
        "lora-v1",
    ]
    assert "1-3h (reference)" in lines[4]  # no training of this account seen yet
    assert '"An illustration of a character named Lora,"' in lines[4]
    requests_after = admin(world.server, "GET", "stats")["by_route"]
    new_calls = {k: v - requests_before.get(k, 0) for k, v in requests_after.items()}
    assert all(k.startswith("GET ") for k, v in new_calls.items() if v), new_calls  # read-only

    during = _status_json(world)
    light = _model(during, "lora-light")
    assert light["status"] == "InProgress" and light["version"] == 1
    assert light["training"]["elapsed_seconds"] is not None
    assert light["training"]["expected_seconds"] is None
    assert light["dataset_version"] == "lora-v1"
    assert light["generation_prefix"] == "An illustration of a character named Lora,"
    dataset = during["projects"][0]["datasets"][0]
    assert (dataset["current"], dataset["status"], dataset["image_count"]) == (
        "lora-v1",
        "completed",
        3,
    )

    _wait_completed(world)
    done = world.cli("status", "manifests")
    assert done.exit_code == 0
    assert done.stdout.splitlines()[4].split()[3] == "Completed"
    after = _status_json(world)
    light = _model(after, "lora-light")
    assert light["status"] == "Completed"
    assert light["training"]["elapsed_seconds"] is None
    assert light["training"]["expected_seconds"] is not None  # seen training, then completed
    assert light["training"]["expected_basis"] == "1 training of this account"

    # a retrain: older versions, and the time left estimated from the training seen above
    set_knobs(world.server, training_seconds=120)
    world.tree.images[("lora", "lora-v1")]["lora-04.png"] = 44
    world.apply()
    data = _status_json(world)
    dataset = data["projects"][0]["datasets"][0]
    assert (dataset["current"], dataset["version"], dataset["image_count"]) == ("lora-v1~2", 2, 4)
    assert [o["name"] for o in dataset["older_versions"]] == ["lora-v1"]
    light = _model(data, "lora-light")
    assert (light["current"], light["version"], light["status"]) == (
        "lora-light~2",
        2,
        "InProgress",
    )
    assert light["dataset_version"] == "lora-v1~2"
    assert [(o["name"], o["status"]) for o in light["older_versions"]] == [
        ("lora-light", "Completed")
    ]
    timing = light["training"]
    assert timing["expected_seconds"] is not None and timing["expected_seconds"] < 60
    assert timing["expected_left_seconds"] is not None
    assert data["superseded_training"] == []
    text = world.cli("status", "manifests").stdout
    assert "older versions of lora-light: lora-light (Completed)" in text
    assert "lora-v1 (completed)" in text


def test_superseded_version_still_training_is_listed(world: World) -> None:
    set_knobs(world.server, training_seconds=120, stopping_seconds=0.02)
    world.tree = standard_tree(world.root, images=3)
    world.apply()
    world.tree.images[("lora", "lora-v1")]["lora-04.png"] = 44
    # lora-light~2 trains on lora-v1~2 while lora-light still trains (kept: stopping it is the
    # default since issue 14)
    world.apply("--keep-superseded")
    data = _status_json(world)
    (old,) = data["superseded_training"]
    assert (old["project"], old["model"], old["version"], old["status"]) == (
        "lora",
        "lora-light",
        "lora-light",
        "InProgress",
    )
    text = world.cli("status", "manifests").stdout
    assert "Superseded versions still training:" in text
    assert f"lora/lora-light (id {old['id']}): InProgress for " in text

    # by default the next retrain stops what it supersedes: an older version, no longer training
    world.tree.images[("lora", "lora-v1")]["lora-05.png"] = 45
    world.apply()
    data = _status_json(world)
    # lora-light~2, which this retrain superseded, is stopped: no longer listed as training
    assert "lora-light~2" not in [entry["version"] for entry in data["superseded_training"]]
    light = _model(data, "lora-light")
    assert light["current"] == "lora-light~3"
    stopped = next(o for o in light["older_versions"] if o["name"] == "lora-light~2")
    assert stopped["status"] in ("Stopping", "Stopped")
    text = world.cli("status", "manifests").stdout
    assert f"lora-light~2 ({stopped['status']})" in text


def test_watch_without_a_terminal_shows_once(world: World) -> None:
    world.tree = standard_tree(world.root, images=3)
    world.tree.write()
    result = world.cli("status", "manifests", "--watch")
    assert result.exit_code == 0
    assert "--watch refreshes only on a terminal" in result.stderr
    assert "project lora" in result.stdout


def test_readme_status_example_is_what_render_text_prints() -> None:
    from reconciler.status.render import render_text
    from reconciler.status.report import (
        DatasetStatus,
        ModelStatus,
        OlderVersion,
        ProjectStatus,
        StatusReport,
        Training,
    )

    def training(left: float) -> Training:
        return Training("2026-12-01T08:00:00Z", "created_at", 250.0, 6000.0, left, "3 trainings")

    prefix = "An illustration of a character named Lora,"
    dataset = DatasetStatus(
        "lora-v1", "lora-v1~2", 2, 25, "completed", 21, "empty",
        (OlderVersion("lora-v1", 2, "completed"),),
    )  # fmt: skip
    models = (
        ModelStatus("lora-light", "lora-light~2", 2, 47, "InProgress", "light", "lora-v1~2",
                    prefix, training(5760.0), (OlderVersion("lora-light", 6, "Completed"),)),
        ModelStatus("lora-max", "lora-max~2", 2, 48, "InProgress", "max", "lora-v1~2",
                    prefix, training(7500.0), (OlderVersion("lora-max", 7, "Completed"),)),
    )  # fmt: skip
    report = StatusReport(
        1, "", (ProjectStatus("lora", 1, "defined_character", "illustration", (dataset,), models),)
    )
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert render_text(report).strip() in readme


def test_watch_on_a_terminal_redraws_until_ctrl_c(world: World) -> None:
    import os
    import pty
    import select
    import signal
    import subprocess
    import sys

    from e2e_support import cli_env

    world.tree = standard_tree(world.root, images=3)
    world.tree.write()
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "status", "manifests", "--watch", "--interval", "1"],
        cwd=world.root,
        env={**os.environ, **cli_env(world.server), "TERM": "xterm"},
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while seen.count(b"project lora") < 2 and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 65536)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130  # Ctrl-C exits 130 everywhere
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert seen.count(b"project lora") >= 2, seen
    assert b"refreshing every 1s; Ctrl-C to stop" in seen


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--interval", "0"],
        ["status", "--interval", "-5"],
        ["samples", "--wait-timeout", "-1"],
    ],
)
def test_a_pause_or_timeout_that_is_not_positive_is_refused(world: World, args: list[str]) -> None:
    result = world.cli(*args)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()  # one line, not click's usage block
    assert line.startswith("error: Invalid value for '--") and "is not in the range x>0" in line
    assert line.endswith(f"(see 'reconciler {args[0]} --help')")


def test_expected_time_left_comes_from_the_accounts_own_history_on_a_fresh_checkout(
    world: World,
) -> None:
    """No status run saw the first training (a fresh CI checkout): the Completed models'
    created_at to updated_at are the account's history."""
    set_knobs(world.server, training_seconds=1.0)  # timestamps are whole seconds: >= 1 s apart
    world.tree = standard_tree(world.root, images=3)
    world.apply()
    _wait_completed(world)
    assert not (world.root / ".reconciler" / "training-history.json").exists()
    set_knobs(world.server, training_seconds=120)
    world.tree.images[("lora", "lora-v1")]["lora-04.png"] = 44
    world.apply()
    timing = _model(_status_json(world), "lora-light")["training"]
    assert timing["expected_basis"].endswith("of this account"), timing
    assert 1 <= timing["expected_seconds"] <= 5
    assert timing["expected_left_seconds"] is not None


def test_without_updated_at_in_the_answers_the_sightings_of_status_runs_estimate(
    world: World,
) -> None:
    """The reference's model records carry only created_at: then what earlier status runs saw
    (training, then Completed) is the history."""
    from hostile_server import Answer, HostileServer, Recorded, Rule

    models = r"/v1/tailored-gen/(projects/\d+/)?models(/\d+)?"

    def strip(item: Any) -> Any:
        if isinstance(item, dict):
            item.pop("updated_at", None)
        return item

    set_knobs(world.server, training_seconds=1.0)  # seen started >= 1 s before seen Completed
    world.tree = standard_tree(world.root, images=3)
    world.apply()
    with HostileServer(world.server.url) as server:

        def reference_shaped(request: Recorded) -> Answer:
            upstream = server.forward(request)
            body = json.loads(upstream.body)
            body = [strip(m) for m in body] if isinstance(body, list) else strip(body)
            return Answer(upstream.status, body, upstream.content_type, upstream.headers)

        server.script(Rule("GET", models, reference_shaped))

        def status() -> dict[str, Any]:
            return _status_json(world, BRIA_API_URL=server.url)

        assert _model(status(), "lora-light")["status"] == "InProgress"  # seen training
        _wait_completed(world)
        assert _model(status(), "lora-light")["status"] == "Completed"  # seen Completed
        set_knobs(world.server, training_seconds=120)
        world.tree.images[("lora", "lora-v1")]["lora-04.png"] = 44
        world.apply()
        timing = _model(status(), "lora-light")["training"]
        fresh = world.root / "fresh-state"  # no sightings: the answers alone say nothing
        alone = _status_json(world, BRIA_API_URL=server.url, RECONCILER_STATE_DIR=str(fresh))
    assert timing["expected_basis"].endswith("of this account"), timing
    assert 1 <= timing["expected_seconds"] <= 10
    assert _model(alone, "lora-light")["training"]["expected_seconds"] is None
