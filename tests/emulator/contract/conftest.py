"""The contract suite's target: the same tests against three backends.

* `socket`: the emulator served by uvicorn on 127.0.0.1, port 0 (end to end over HTTP);
* `inprocess`: the emulator's ASGI app behind an httpx transport (fast, no socket);
* `realapi`: Bria itself, only when BRIA_API_URL and BRIA_API_TOKEN are set; resources are
  created under a unique prefix and deleted afterwards.

One emulator per backend and API profile per worker; each test starts from an empty account and
default knobs. Tests that need the emulator's knobs or fast training call `bria.emulator_only()`.

Every emulator test runs against both API profiles: `reference` (the reference, our contract)
and `current` (Bria's published OpenAPI). A test whose behaviour is one generation's only is
marked `@pytest.mark.profiles("reference")` (or "current") and is skipped on the other; the
real API is the current generation unless BRIA_API_PROFILE says otherwise.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


class _Emulators:
    """The session's emulators, started on first use: one per (backend, profile)."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.servers: dict[str, EmulatorServer] = {}
        self.clients: dict[str, TestClient] = {}

    def server(self, profile: str) -> EmulatorServer:
        if profile not in self.servers:
            data_dir = self.factory.mktemp(f"contract-socket-{profile}")
            server = EmulatorServer(
                data_dir, token=TOKEN, training_seconds=TRAINING_SECONDS, api_profile=profile
            )
            server.start()
            self.servers[profile] = server
        return self.servers[profile]

    def test_client(self, profile: str) -> TestClient:
        if profile not in self.clients:
            data_dir: Path = self.factory.mktemp(f"contract-inprocess-{profile}")
            config = EmulatorConfig(
                token=TOKEN, training_seconds=TRAINING_SECONDS, api_profile=profile
            )
            test_client = TestClient(create_app(config, data_dir))
            test_client.__enter__()
            self.clients[profile] = test_client
        return self.clients[profile]

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        for test_client in self.clients.values():
            test_client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def _emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Emulators]:
    emulators = _Emulators(tmp_path_factory)
    try:
        yield emulators
    finally:
        emulators.close()


def _emulator_target(kind: str, profile: str, request: pytest.FixtureRequest) -> Target:
    emulators: _Emulators = request.getfixturevalue("_emulators")
    if kind == "socket":
        server = emulators.server(profile)
        admin = httpx.Client(base_url=server.root_url, timeout=30, verify=False)
        target = Target(kind, server.url, None, admin, "", TOKEN, profile=profile)
    else:
        test_client = emulators.test_client(profile)
        transport = SharedTransport(test_client._transport)
        target = Target(
            kind, "http://testserver/v1", transport, test_client, "", TOKEN, profile=profile
        )
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
REAL_API_PROFILE = os.environ.get("BRIA_API_PROFILE", "current")
PROFILES = ("reference", "current")
BACKENDS: list[Any] = [
    pytest.param((kind, profile), id=f"{kind}-{profile}")
    for profile in PROFILES
    for kind in ("socket", "inprocess")
]
if all(REAL_API):  # otherwise one skipped test below says how to enable it
    BACKENDS.append(
        pytest.param(("realapi", REAL_API_PROFILE), marks=pytest.mark.realapi, id="realapi")
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (rather than skip) a test's runs on profiles its `profiles` marker excludes."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("profiles")
        params = getattr(item, "callspec", None)
        backend = params.params.get("bria") if params is not None else None
        if marker is not None and backend is not None and backend[1] not in marker.args:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=BACKENDS)
def bria(request: pytest.FixtureRequest) -> Iterator[Target]:
    kind, profile = request.param
    marker = request.node.get_closest_marker("profiles")
    if marker is not None and profile not in marker.args:
        pytest.skip(f"{profile} profile: the rule checked is the {' and '.join(marker.args)} one")
    if kind == "realapi":
        url, token = REAL_API
        assert url and token
        target = Target(
            kind, url, None, None, f"rcx-{uuid.uuid4().hex[:8]}-", token, profile=profile
        )
    else:
        target = _emulator_target(kind, profile, request)
    try:
        yield target
    finally:
        if kind == "realapi":
            _delete_prefixed(target)
        elif target.admin is not None and kind == "socket":
            target.admin.close()
        target.close()
