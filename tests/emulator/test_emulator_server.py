"""The embedded server's stop: prompt (no fixed sleeps), yet graceful for a request in flight."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import EmulatorSession


def test_stop_lets_a_request_in_flight_finish_then_refuses_new_ones(tmp_path: Path) -> None:
    server = EmulatorServer(tmp_path, token="t", latency=0.3)
    server.start()
    url = f"{server.url}/tailored-gen/projects"
    answers: list[httpx.Response] = []
    with (
        httpx.Client(headers={"api_token": "t"}) as idle,
        httpx.Client(headers={"api_token": "t"}) as busy,
    ):
        assert idle.get(url).status_code == 200  # an idle keep-alive connection stays open
        request = threading.Thread(target=lambda: answers.append(busy.get(url)))
        request.start()
        time.sleep(0.1)  # the request is inside the server's latency
        server.stop()
        request.join(timeout=5)
        assert [a.status_code for a in answers] == [200]
        assert answers[0].json() == []
        try:
            idle.get(url, timeout=2)
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("a stopped emulator answered")


def test_a_stopped_emulator_can_start_again_on_the_same_data(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path) as first:
        bria = EmulatorSession(first)
        bria.project(project_name="kept")
        bria.close()
    with EmulatorServer(tmp_path) as second:
        bria = EmulatorSession(second)
        assert [p["project_name"] for p in bria.state()["projects"]] == ["kept"]
        bria.close()
