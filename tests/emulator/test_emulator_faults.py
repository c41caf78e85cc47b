"""Emulator fault knobs and admin endpoints: reproducible with a seed, never faulting admin."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import CHARACTER_PROJECT, EmulatorSession

PROJECTS = "/tailored-gen/projects"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(tmp_path_factory.mktemp("bria"), token="knob-token") as running:
        yield running


@pytest.fixture(scope="module")
def session(server: EmulatorServer) -> Iterator[EmulatorSession]:
    opened = EmulatorSession(server, token="knob-token")
    yield opened
    opened.close()


@pytest.fixture
def bria(session: EmulatorSession) -> EmulatorSession:
    session.configure(latency=0, failure_rate=0, lost_response_rate=0, rate_limit_every=0,
                      retry_after=1, rate_limit_per_window=0, rate_window_s=60,
                      seed=None)  # fmt: skip
    session.reset()
    return session


def _expected_failures(seed: int, rate: float, count: int) -> list[int]:
    """What the emulator promises: two draws per request from random.Random(seed)."""
    rng = random.Random(seed)
    statuses = []
    for _ in range(count):
        fail_draw, _lose_draw = rng.random(), rng.random()
        statuses.append(500 if fail_draw < rate else 200)
    return statuses


def test_rate_limit_every_nth_request_without_acting(bria: EmulatorSession) -> None:
    bria.configure(rate_limit_every=3, retry_after=0.5)
    answers = [
        bria.post(PROJECTS, {**CHARACTER_PROJECT, "project_name": f"p{n}"}) for n in range(6)
    ]
    assert [a.status_code for a in answers] == [201, 201, 429, 201, 201, 429]
    limited = answers[2]
    assert limited.headers["Retry-After"] == "0.5"
    assert limited.json() == {
        "message": "Request limit exceeded. Your account has reached its maximum allowed "
        "requests. Please upgrade your plan or try again later."
    }
    assert [p["project_name"] for p in bria.state()["projects"]] == ["p0", "p1", "p3", "p4"]


def test_failure_rate_answers_500_before_acting(bria: EmulatorSession) -> None:
    bria.configure(failure_rate=1.0)
    response = bria.post(PROJECTS, CHARACTER_PROJECT)
    assert (response.status_code, response.json()) == (500, {"message": "Internal server error"})
    assert bria.state()["projects"] == []


def test_lost_response_acts_then_answers_500(bria: EmulatorSession) -> None:
    bria.configure(lost_response_rate=1.0)
    response = bria.post(PROJECTS, CHARACTER_PROJECT)
    assert (response.status_code, response.json()) == (500, {"message": "Internal server error"})
    assert [p["project_name"] for p in bria.state()["projects"]] == ["Branded Character"]


def test_faults_are_reproducible_with_a_seed(bria: EmulatorSession) -> None:
    bria.configure(failure_rate=0.4, seed=1234)
    first = [bria.get(PROJECTS).status_code for _ in range(25)]
    bria.configure(seed=1234)  # setting the seed restarts the sequence
    second = [bria.get(PROJECTS).status_code for _ in range(25)]
    assert first == second == _expected_failures(1234, 0.4, 25)
    assert 0 < first.count(500) < 25


def test_constructor_knobs_match_runtime_knobs(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path, failure_rate=0.4, seed=1234) as faulty:
        statuses = [
            httpx.get(
                f"{faulty.url}{PROJECTS}", headers={"api_token": "t"}, verify=False
            ).status_code
            for _ in range(25)
        ]
    assert statuses == _expected_failures(1234, 0.4, 25)


def test_latency_delays_each_request(bria: EmulatorSession) -> None:
    bria.configure(latency=0.25)
    started = time.monotonic()
    assert bria.get(PROJECTS).status_code == 200
    assert time.monotonic() - started >= 0.25
    started = time.monotonic()
    bria.state()  # admin: no latency
    assert time.monotonic() - started < 0.2


def test_admin_calls_are_never_faulted_nor_counted(bria: EmulatorSession) -> None:
    bria.configure(failure_rate=1.0, rate_limit_every=1)
    for _ in range(3):
        assert bria.admin.get("/_emulator/state").status_code == 200
    assert bria.stats()["requests"] == 0


def test_stats_count_routes_statuses_and_faults(bria: EmulatorSession) -> None:
    bria.configure(rate_limit_every=2)
    project = bria.post(PROJECTS, CHARACTER_PROJECT).json()
    bria.get(f"{PROJECTS}/{project['id']}")
    bria.get(f"{PROJECTS}/{project['id']}")
    bria.http.get(PROJECTS, headers={"api_token": "wrong"})
    assert bria.stats() == {
        "requests": 4,
        "by_route": {
            "GET /v1/tailored-gen/projects": 1,
            "GET /v1/tailored-gen/projects/{project_id}": 2,
            "POST /v1/tailored-gen/projects": 1,
        },
        "by_status": {"200": 1, "201": 1, "429": 2},
        "faults": {"rate_limited": 2, "failed_before_acting": 0, "lost_responses": 0},
    }


def test_reset_wipes_state_and_stats(bria: EmulatorSession) -> None:
    bria.project()
    assert bria.admin.post("/_emulator/reset").json() == {"reset": True}
    assert bria.state() == {"projects": [], "datasets": [], "images": [], "models": []}
    assert bria.stats()["requests"] == 0


def test_config_reports_knobs_and_hides_the_token(bria: EmulatorSession) -> None:
    response = bria.configure(training_seconds=2, rate_limit_every=5)
    assert response.status_code == 200
    config = response.json()
    assert (config["training_seconds"], config["rate_limit_every"]) == (2.0, 5)
    assert config["token"] == "***"
    assert "knob-token" not in response.text
    assert bria.admin.get("/_emulator/config").json() == config


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"failure_rate": 1.5}, "knob 'failure_rate' must be between 0 and 1, got 1.5"),
        ({"rate_limit_every": 2.5}, "knob 'rate_limit_every' must be a whole number, got 2.5"),
        ({"latency": "slow"}, "knob 'latency' must be a number, got 'slow'"),
        ({"token": "new"}, "unknown knob(s) token; known knobs: captions_seconds, failure_rate, "
         "generation_seconds, latency, lost_response_rate, rate_limit_every, "
         "rate_limit_per_window, rate_window_s, retry_after, seed, stopping_seconds, "
         "training_seconds"),
    ],
)  # fmt: skip
def test_bad_config_is_400_and_changes_nothing(
    bria: EmulatorSession, knobs: dict[str, object], message: str
) -> None:
    before = bria.admin.get("/_emulator/config").json()
    response = bria.configure(**knobs, training_seconds=99)
    assert (response.status_code, response.json()) == (400, {"message": message})
    assert bria.admin.get("/_emulator/config").json() == before


def test_files_are_not_faulted(bria: EmulatorSession) -> None:
    dataset = bria.dataset(bria.project()["id"])
    image = bria.upload(dataset["id"]).json()
    bria.configure(failure_rate=1.0)
    assert httpx.get(image["image_url"], verify=False).status_code == 200


def _seeds(default: list[int]) -> list[int]:
    """`RECONCILER_SEEDS=1-40` or `=3,8` runs more seeds than the default few."""
    raw = os.environ.get("RECONCILER_SEEDS", "").strip()
    if not raw:
        return default
    if "-" in raw:
        first, last = raw.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(part) for part in raw.split(",") if part.strip()]


@pytest.mark.slow
@pytest.mark.parametrize("seed", _seeds([1, 2, 3]))
def test_every_fault_kind_together_is_predictable_from_the_seed(
    bria: EmulatorSession, seed: int
) -> None:
    """Replay the promised RNG: the statuses, and exactly which writes happened, follow."""
    base = bria.project(project_name="base")  # before the knobs: not faulted
    bria.configure(failure_rate=0.2, lost_response_rate=0.2, rate_limit_every=7, seed=seed)
    rng = random.Random(seed)
    expected_statuses, created, description = [], [], ""
    actual_statuses = []
    for number in range(1, 41):
        fail_draw, lose_draw = rng.random(), rng.random()
        limited = number % 7 == 0
        failed = not limited and fail_draw < 0.2
        lost = not (limited or failed) and lose_draw < 0.2
        acted = not (limited or failed)
        if number % 3:
            ok, answer = (
                201,
                bria.post(PROJECTS, {**CHARACTER_PROJECT, "project_name": f"p{number}"}),
            )
            if acted:
                created.append(f"p{number}")
        else:
            ok, answer = (
                200,
                bria.put(f"{PROJECTS}/{base['id']}", {"project_description": f"v{number}"}),
            )
            if acted:
                description = f"v{number}"
        expected_statuses.append(429 if limited else 500 if failed or lost else ok)
        actual_statuses.append(answer.status_code)
    assert actual_statuses == expected_statuses
    projects = bria.state()["projects"]
    assert [p["project_name"] for p in projects] == ["base", *created]
    assert projects[0]["project_description"] == description
    faults = bria.stats()["faults"]
    assert faults["rate_limited"] == expected_statuses.count(429)
    assert faults["failed_before_acting"] + faults["lost_responses"] == expected_statuses.count(500)
