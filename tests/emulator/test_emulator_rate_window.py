"""Bria's per-endpoint sliding-window rate limit in the emulator: the knob, the CLI flags, 429s."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.rate_window import SlidingWindow, retry_after_header
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import CHARACTER_PROJECT, EmulatorSession

PROJECTS = "/tailored-gen/projects"
LIMIT_MESSAGE = (
    "Request limit exceeded. Your account has reached its maximum allowed requests. "
    "Please upgrade your plan or try again later."
)


@pytest.fixture
def bria(tmp_path: Path) -> Iterator[EmulatorSession]:
    with EmulatorServer(
        tmp_path / "bria", token="tok", rate_limit_per_window=3, rate_window_s=1.0
    ) as server:
        session = EmulatorSession(server, token="tok")
        yield session
        session.close()


def test_fourth_request_in_the_window_is_429_with_retry_after_and_does_not_act(
    bria: EmulatorSession,
) -> None:
    answers = [
        bria.post(PROJECTS, {**CHARACTER_PROJECT, "project_name": f"p{n}"}) for n in range(4)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[3].headers["Retry-After"] == "1"
    assert answers[3].json() == {"message": LIMIT_MESSAGE}
    assert [p["project_name"] for p in bria.state()["projects"]] == ["p0", "p1", "p2"]
    assert bria.stats()["faults"]["rate_limited"] == 1


def test_each_endpoint_has_its_own_window_and_ids_share_one(bria: EmulatorSession) -> None:
    project = bria.project()
    one = f"{PROJECTS}/{project['id']}"
    # GET /projects/{project_id} is one endpoint whatever the id (and with a trailing slash)
    statuses = [bria.get(path).status_code for path in (one, one + "/", f"{PROJECTS}/999", one)]
    assert statuses == [200, 200, 404, 429]
    assert bria.get(PROJECTS).status_code == 200  # another endpoint: its own budget
    assert bria.put(one, {"project_description": "d"}).status_code == 200


def test_window_slides_a_refused_request_does_not_count(bria: EmulatorSession) -> None:
    assert bria.configure(rate_window_s=0.5).status_code == 200  # a shorter window to wait out
    for _ in range(3):
        assert bria.get(PROJECTS).status_code == 200
    assert bria.get(PROJECTS).status_code == 429
    time.sleep(0.55)
    assert [bria.get(PROJECTS).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_knob_changes_at_runtime_and_reset_forgets_the_window(bria: EmulatorSession) -> None:
    for _ in range(3):
        bria.get(PROJECTS)
    assert bria.get(PROJECTS).status_code == 429
    bria.reset()
    assert bria.get(PROJECTS).status_code == 200
    for _ in range(2):
        bria.get(PROJECTS)
    assert bria.get(PROJECTS).status_code == 429
    assert bria.configure(rate_limit_per_window=3).status_code == 200  # a fresh window
    assert bria.get(PROJECTS).status_code == 200
    assert bria.configure(rate_limit_per_window=0).status_code == 200
    assert all(bria.get(PROJECTS).status_code == 200 for _ in range(6))
    bad = bria.configure(rate_window_s=0)
    assert bad.status_code == 400
    assert bad.json()["message"] == "knob 'rate_window_s' must be a positive number of seconds"


def test_sliding_window_arithmetic() -> None:
    now = [100.0]
    window = SlidingWindow(clock=lambda: now[0])
    assert [window.admit("GET /x", 2, 10.0) for _ in range(2)] == [None, None]
    now[0] = 104.0
    assert window.admit("GET /x", 2, 10.0) == pytest.approx(6.0)
    assert window.admit("GET /y", 2, 10.0) is None
    now[0] = 110.0  # the first two leave the window exactly now
    assert window.admit("GET /x", 2, 10.0) is None
    assert window.admit("GET /x", 0, 10.0) is None  # 0 = no limit
    assert [retry_after_header(s) for s in (0.0, 0.2, 1.0, 59.01)] == ["1", "1", "1", "60"]


def test_cli_flags_set_the_window(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--data", str(tmp_path),
         "--rate-limit-per-window", "2", "--rate-window-s", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("emulator listening on ")
        statuses = [httpx.get(f"{url}{PROJECTS}", headers={"api_token": "t"}) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        assert 29 <= int(statuses[2].headers["Retry-After"]) <= 30
    finally:
        process.terminate()
        process.communicate(timeout=15)
    from click.testing import CliRunner

    from reconciler.cli import cli

    bad = CliRunner().invoke(cli, ["emulator", "--rate-window-s", "0"])  # refused before serving
    assert bad.exit_code == 2
    assert "--rate-window-s" in bad.stderr
