"""A create that Bria carries out after the client gave up, and concurrent applies that lose
answers, never leave a duplicate (issue 8 items 4 and 6).

A real emulator behind `HostileServer`: the first create of a kind is held back longer than the
client's read timeout and only then forwarded, so Bria acts after the client has already timed
out, re-read the account (nothing there yet) and sent the create again. Both copies land; apply
must remove its own late, empty copy (once more before reporting success) and leave one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import TOKEN, account, running_emulator
from hostile_server import Answer, HostileServer, Recorded, Rule
from test_apply_engine import full_plan

from reconciler.apply import apply_plan
from reconciler.client import BriaClient
from reconciler.client.retry_policy import RetryPolicy
from reconciler.emulator.server import EmulatorServer

CLIENT_TIMEOUT = 1.2
SERVER_ACTS_AFTER = 1.8
POLICY = RetryPolicy(attempts=4, base_seconds=0.01, max_seconds=0.05, late_copy_grace=3.2)
ROUTES = {
    "project": r"/v1/tailored-gen/projects",
    "dataset": r"/v1/tailored-gen/datasets",
    "model": r"/v1/tailored-gen/models",
}


@pytest.fixture
def bria(tmp_path: Path) -> Iterator[tuple[EmulatorServer, HostileServer]]:
    with running_emulator(tmp_path / "emu", training_seconds=60) as server:
        with HostileServer(server.url) as proxy:
            yield server, proxy


def _late(proxy: HostileServer) -> Any:
    def answer(request: Recorded) -> Answer:
        time.sleep(SERVER_ACTS_AFTER)  # the client has given up by now
        return proxy.forward(request)

    return answer


@pytest.mark.parametrize("kind", sorted(ROUTES))
def test_a_create_carried_out_after_the_client_timeout_leaves_no_duplicate(
    tmp_path: Path, bria: tuple[EmulatorServer, HostileServer], kind: str
) -> None:
    server, proxy = bria
    proxy.script(Rule("POST", ROUTES[kind], _late(proxy), times=1))
    with BriaClient(proxy.url, TOKEN, timeout=CLIENT_TIMEOUT, max_retries=0) as client:
        result = apply_plan(full_plan(tmp_path, images=2), client, policy=POLICY)
    time.sleep(SERVER_ACTS_AFTER)  # anything still held back has landed by now
    state = account(server)

    assert result.ok, result.failed
    posts = [r for r in proxy.requests if r.method == "POST" and r.path == ROUTES[kind]]
    assert len(posts) >= 2  # the timed-out create, and the one sent again
    plural = f"{kind}s"
    live = [r for r in state[plural] if r.get("status") != "Deleted"]
    assert len(live) == 1, live


def test_a_late_copy_in_use_is_not_deleted_but_named(
    tmp_path: Path, bria: tuple[EmulatorServer, HostileServer]
) -> None:
    """If someone starts using the late copy before apply looks again, apply refuses to delete
    it and names it, with how to remove it."""
    server, proxy = bria
    landed = threading.Event()

    def late_then_used(request: Recorded) -> Answer:
        time.sleep(SERVER_ACTS_AFTER)
        answer = proxy.forward(request)
        landed.set()
        return answer

    proxy.script(Rule("POST", ROUTES["dataset"], late_then_used, times=1))

    def use_the_late_copy() -> None:
        landed.wait(10)
        with BriaClient(server.url, TOKEN) as other:
            (project,) = other.list_projects()
            late = max(other.list_project_datasets(project.id), key=lambda d: d.id)
            from manifest_builders import png_bytes

            other.upload_image(late.id, file=png_bytes(99), image_name="someone.png")

    helper = threading.Thread(target=use_the_late_copy)
    helper.start()
    with BriaClient(proxy.url, TOKEN, timeout=CLIENT_TIMEOUT, max_retries=0) as client:
        result = apply_plan(full_plan(tmp_path, images=1), client, policy=POLICY)
    helper.join()

    assert not result.ok
    (message,) = [m for _step, m in result.failed]
    assert "exists twice" in message
    assert "is not empty (1 images)" in message
    assert "DELETE /tailored-gen/datasets/" in message
    assert len(account(server)["datasets"]) == 2  # nothing in use is ever deleted


def test_concurrent_applies_losing_answers_leave_no_duplicate(tmp_path: Path) -> None:
    """Two applies of one plan at once against an account that loses answers after acting:
    whichever copy recognition finds first, no second copy of anything is left behind."""
    outcomes = []
    for seed in range(1, 9):
        with running_emulator(tmp_path / f"emu-{seed}", seed=seed, training_seconds=60) as server:
            from e2e_support import set_knobs

            set_knobs(server, lost_response_rate=0.35, seed=seed)
            plan = full_plan(tmp_path, images=3)
            results: list[Any] = []

            def run(plan: Any = plan, server: Any = server, results: list[Any] = results) -> None:
                with BriaClient(server.url, TOKEN, backoff_base=0.01, max_retries=8) as client:
                    results.append(apply_plan(plan, client, policy=POLICY))

            runners = [threading.Thread(target=run) for _ in range(2)]
            for runner in runners:
                runner.start()
            for runner in runners:
                runner.join()
            set_knobs(server, lost_response_rate=0.0)
            state = account(server)
        live_models = [m for m in state["models"] if m["status"] != "Deleted"]
        names = [p["project_name"] for p in state["projects"]]
        datasets = [d["name"] for d in state["datasets"]]
        outcomes.append((seed, names, datasets, [m["name"] for m in live_models]))
    for seed, projects, datasets, models in outcomes:
        assert len(projects) == len(set(projects)), (seed, projects)
        assert len(datasets) == len(set(datasets)), (seed, datasets)
        assert len(models) == len(set(models)), (seed, models)


def test_when_every_create_is_slow_the_second_late_copy_is_removed_too(
    tmp_path: Path, bria: tuple[EmulatorServer, HostileServer]
) -> None:
    """Both attempts time out and both land late: recognition adopts the first, and the check
    before success (timed from the last unanswered attempt) removes the second."""
    server, proxy = bria
    proxy.script(Rule("POST", ROUTES["project"], _late(proxy), times=2))
    with BriaClient(proxy.url, TOKEN, timeout=CLIENT_TIMEOUT, max_retries=0) as client:
        result = apply_plan(full_plan(tmp_path, images=1), client, policy=POLICY)
    time.sleep(SERVER_ACTS_AFTER)

    assert result.ok, result.failed
    assert len([r for r in proxy.requests if r.route == "POST /v1/tailored-gen/projects"]) >= 2
    assert len(account(server)["projects"]) == 1
