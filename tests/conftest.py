"""Fixtures shared by the whole suite: a real emulator on a socket and a client talking to it.

Keep this file small: fixtures used by one area belong in that area's own conftest.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from reconciler.client import BriaClient
from reconciler.emulator.server import EmulatorServer

EMULATOR_TOKEN = "t0k-emulator-3b9d51"

# Production pauses (retry backoff, polls) a fiftieth as long, in this process and in every CLI
# subprocess it starts (they inherit the environment); attempts, deadlines and Retry-After are
# unchanged (reconciler/pauses.py). A test that measures a pause sets it back to 1.
os.environ.setdefault("RECONCILER_TEST_PAUSE_SCALE", "0.02")
# CLI subprocesses write the package's bytecode once and reuse it: with PYTHONDONTWRITEBYTECODE
# set (some CI images set it) a fresh checkout recompiled every module on each `python -m
# reconciler` start (~0.3 s each)
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# Hypothesis: the one profile of the suite. A property runs HYPOTHESIS_EXAMPLES examples (few, so
# CI stays fast); `RECONCILER_HYPOTHESIS_EXAMPLES=500` runs more on demand (README, beside
# RECONCILER_SEEDS). A property whose examples are much dearer or cheaper than usual states its
# share, e.g. `settings(max_examples=max(1, settings.default.max_examples // 4))`, never a fixed
# count. No deadline and no too_slow check: timings on a shared 2-core machine are noise, not
# findings; print_blob lets a failure seen once be replayed with @reproduce_failure.
HYPOTHESIS_EXAMPLES = int(os.environ.get("RECONCILER_HYPOTHESIS_EXAMPLES", "25"))
settings.register_profile(
    "reconciler",
    max_examples=HYPOTHESIS_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("reconciler")


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
