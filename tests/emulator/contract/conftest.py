"""The contract suite's target: the same tests against three backends.

* `socket`: the emulator served by uvicorn on 127.0.0.1, port 0 (end to end over HTTP);
* `inprocess`: the emulator's ASGI app behind an httpx transport (fast, no socket);
* `realapi`: Bria itself, only when BRIA_API_URL and BRIA_API_TOKEN are set; resources are
  created under a unique prefix and deleted afterwards.

One emulator per backend per worker; each test starts from an empty account and default knobs.
Tests that need the emulator's knobs or fast training call `bria.emulator_only()`.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.client import NotFound
from reconciler.emulator.app import create_app
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.server import EmulatorServer

from .target import DEFAULT_KNOBS, TOKEN, TRAINING_SECONDS, SharedTransport, Target, wait_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # StarletteDeprecationWarning about httpx
    from starlette.testclient import TestClient


@pytest.fixture(scope="session")
def _socket_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    data_dir = tmp_path_factory.mktemp("contract-socket")
    with EmulatorServer(data_dir, token=TOKEN, training_seconds=TRAINING_SECONDS) as server:
        yield server


@pytest.fixture(scope="session")
def _inprocess_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir: Path = tmp_path_factory.mktemp("contract-inprocess")
    app = create_app(EmulatorConfig(token=TOKEN, training_seconds=TRAINING_SECONDS), data_dir)
    with TestClient(app) as test_client:
        yield test_client


def _emulator_target(kind: str, request: pytest.FixtureRequest) -> Target:
    if kind == "socket":
        server: EmulatorServer = request.getfixturevalue("_socket_emulator")
        admin = httpx.Client(base_url=server.root_url, timeout=30)
        target = Target(kind, server.url, None, admin, "", TOKEN)
    else:
        test_client: TestClient = request.getfixturevalue("_inprocess_emulator")
        transport = SharedTransport(test_client._transport)
        target = Target(kind, "http://testserver/v1", transport, test_client, "", TOKEN)
    assert target.admin is not None
    target.admin.post("/_emulator/reset").raise_for_status()
    target.configure(**DEFAULT_KNOBS)
    return target


def _delete_prefixed(target: Target) -> None:
    """Stop and delete everything this run created on the real API."""
    cleaner = target.new_client()
    for project in cleaner.list_projects():
        if not project.project_name.startswith(target.prefix):
            continue
        for model in cleaner.list_project_models(project.id):
            if model.status == "InProgress":
                cleaner.stop_training(model.id)
        try:
            wait_for(
                lambda project_id=project.id: cleaner.list_project_models(project_id),
                lambda models: all(m.status not in ("InProgress", "Stopping") for m in models),
                timeout=120,
            )
            cleaner.delete_project(project.id)
        except NotFound:
            pass


REAL_API = (os.environ.get("BRIA_API_URL"), os.environ.get("BRIA_API_TOKEN"))
BACKENDS = ["socket", "inprocess"]
if all(REAL_API):  # otherwise one skipped test below says how to enable it
    BACKENDS.append(pytest.param("realapi", marks=pytest.mark.realapi))


@pytest.fixture(params=BACKENDS)
def bria(request: pytest.FixtureRequest) -> Iterator[Target]:
    kind: str = request.param
    if kind == "realapi":
        url, token = REAL_API
        assert url and token
        target = Target(kind, url, None, None, f"rcx-{uuid.uuid4().hex[:8]}-", token)
    else:
        target = _emulator_target(kind, request)
    try:
        yield target
    finally:
        if kind == "realapi":
            _delete_prefixed(target)
        elif target.admin is not None and kind == "socket":
            target.admin.close()
        target.close()
