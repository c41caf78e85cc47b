"""Fixtures shared by the whole suite: a real emulator on a socket and a client talking to it.

Keep this file small: fixtures used by one area belong in that area's own conftest.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.client import BriaClient
from reconciler.emulator.server import EmulatorServer

EMULATOR_TOKEN = "t0k-emulator-3b9d51"

# Production pauses (retry backoff, polls) a fiftieth as long, in this process and in every CLI
# subprocess it starts (they inherit the environment); attempts, deadlines and Retry-After are
# unchanged (reconciler/pauses.py). A test that measures a pause sets it back to 1.
os.environ.setdefault("RECONCILER_TEST_PAUSE_SCALE", "0.02")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    """The emulator on 127.0.0.1, port 0, state in tmp_path; token EMULATOR_TOKEN."""
    with EmulatorServer(tmp_path / "emulator", token=EMULATOR_TOKEN, training_seconds=0.5) as srv:
        yield srv


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[BriaClient]:
    """A client for `emulator`, with short backoffs so fault tests stay fast."""
    with BriaClient(emulator.url, EMULATOR_TOKEN, backoff_base=0.01, backoff_max=0.2) as bria:
        yield bria
