"""A create that Bria carries out after the client gave up, and concurrent applies that lose
answers, never leave a duplicate (issue 8 items 4 and 6).

A real emulator behind `HostileServer`: the first create of a kind gets no answer within the
client's timeout and is carried out only later, so Bria acts after the client has already timed
out, re-read the account (nothing there yet) and sent the create again. Both copies land; apply
must remove its own late, empty copy (once more before reporting success) and leave one.

When a held-back create is carried out is a condition the hostile server waits for (the create
sent again, the plan's last step), not a guessed sleep: by default it lands while the plan's
last step is being answered, after every check during the steps and before the check before
success, so that check must find it without waiting. That the check also waits out the grace for
a copy landing after the last step (LANDS_AFTER it) is proven once, by the slowest case (every
attempt timing out).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import TOKEN, account, running_emulator
from hostile_server import Answer, HostileServer, Recorded, Rule
from manifest_builders import png_bytes
from test_apply_engine import full_plan

from reconciler.apply import apply_plan
from reconciler.client import BriaClient
from reconciler.client.retry_policy import RetryPolicy
from reconciler.emulator.server import EmulatorServer

CLIENT_TIMEOUT = 0.3  # s: every answer but a held-back create comes in a few ms
#: no grace: the late copy has landed before the last step's answer (LateCreates)
POLICY = RetryPolicy(attempts=4, base_seconds=0.01, max_seconds=0.05, late_copy_grace=0.0)
#: a copy carried out LANDS_AFTER the last step lands well within GRACE of the unanswered
#: create (its timeout and the rest of the apply take about CLIENT_TIMEOUT + 0.05 s)
LANDS_AFTER = 0.2
GRACE = 1.5
WAITING_POLICY = RetryPolicy(attempts=4, base_seconds=0.01, max_seconds=0.05, late_copy_grace=GRACE)
ROUTES = {
    "project": r"/v1/tailored-gen/projects",
    "dataset": r"/v1/tailored-gen/datasets",
    "model": r"/v1/tailored-gen/models",
}
START_TRAINING = r"/v1/tailored-gen/models/\d+/start_training"  # the plan's last step
NEVER = 15.0  # s: a condition that has not come by then will not come


@pytest.fixture
def bria(tmp_path: Path) -> Iterator[tuple[EmulatorServer, HostileServer]]:
    with running_emulator(tmp_path / "emu", training_seconds=60) as server:
        with HostileServer(server.url) as proxy:
            yield server, proxy


class LateCreates:
    """The first `count` creates on `route`, each held back (unanswered: the client times out
    on it) until its release, then carried out by the emulator.

    `releases[n]`: the event create n waits for; by default the plan's last step (start
    training) reaching the emulator, whose answer then waits until the create has landed.
    `lands_after[n]`: seconds more after the release (then the last step does not wait for it).
    `then`: run on each late copy's record once it has landed (someone using it).
    """

    def __init__(self, proxy: HostileServer, route: str, count: int = 1) -> None:
        self.proxy = proxy
        self.arrived = [threading.Event() for _ in range(count)]
        self.landed = [threading.Event() for _ in range(count)]
        self.answers: dict[int, Any] = {}
        self.last_step = threading.Event()
        self.releases = [self.last_step] * count
        self.lands_after = [0.0] * count
        self.then: Callable[[Any], None] = lambda _record: None
        self._taken = 0
        self._lock = threading.Lock()
        self.rules = (
            Rule("POST", route, self._carry_out_late, times=count),
            Rule("POST", START_TRAINING, self._answer_last_step),
        )

    def _carry_out_late(self, request: Recorded) -> Answer:
        with self._lock:
            n, self._taken = self._taken, self._taken + 1
        self.arrived[n].set()
        self.releases[n].wait(NEVER)
        time.sleep(self.lands_after[n])  # a pause of the scenario's server: it acts this late
        answer = self.proxy.forward(request)
        self.answers[n] = json.loads(answer.body)
        self.then(self.answers[n])
        self.landed[n].set()
        return answer

    def _answer_last_step(self, request: Recorded) -> Answer:
        answer = self.proxy.forward(request)
        self.last_step.set()
        for n, landed in enumerate(self.landed):
            if self.releases[n] is self.last_step and not self.lands_after[n]:
                landed.wait(NEVER)
        return answer

    def all_landed(self) -> bool:
        """Wait (not sleep) until every held create was carried out."""
        return all(landed.wait(NEVER) for landed in self.landed)


@pytest.mark.parametrize("kind", sorted(ROUTES))
def test_a_create_carried_out_after_the_client_timeout_leaves_no_duplicate(
    tmp_path: Path, bria: tuple[EmulatorServer, HostileServer], kind: str
) -> None:
    server, proxy = bria
    late = LateCreates(proxy, ROUTES[kind])
    proxy.script(*late.rules)
    with BriaClient(proxy.url, TOKEN, timeout=CLIENT_TIMEOUT, max_retries=0) as client:
        result = apply_plan(full_plan(tmp_path, images=2), client, policy=POLICY)
    assert late.all_landed()
    state = account(server)

    assert result.ok, result.failed
    posts = [r for r in proxy.requests if r.method == "POST" and r.path == ROUTES[kind]]
    assert len(posts) >= 2  # the timed-out create, and the one sent again
    plural = f"{kind}s"
    live = [r for r in state[plural] if r.get("status") != "Deleted"]
    assert len(live) == 1, live
    assert live[0]["id"] != late.answers[0]["id"]  # the late copy is the one removed


def test_a_late_copy_in_use_is_not_deleted_but_named(
    tmp_path: Path, bria: tuple[EmulatorServer, HostileServer]
) -> None:
    """If someone starts using the late copy before apply looks again, apply refuses to delete
    it and names it, with how to remove it."""
    server, proxy = bria
    late = LateCreates(proxy, ROUTES["dataset"])

    def use_the_late_copy(record: Any) -> None:
        with BriaClient(server.url, TOKEN) as other:
            other.upload_image(record["id"], file=png_bytes(99), image_name="someone.png")

    late.then = use_the_late_copy
    proxy.script(*late.rules)
    with BriaClient(proxy.url, TOKEN, timeout=CLIENT_TIMEOUT, max_retries=0) as client:
        result = apply_plan(full_plan(tmp_path, images=1), client, policy=POLICY)
    assert late.all_landed()

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
    """Both attempts time out and both land late: recognition adopts the first (carried out
    once the second was sent), and the check before success waits out the grace (timed from
    the last unanswered attempt) for the second, carried out only after the last step."""
    server, proxy = bria
    late = LateCreates(proxy, ROUTES["project"], count=2)
    late.releases[0] = late.arrived[1]
    late.lands_after[1] = LANDS_AFTER
    proxy.script(*late.rules)
    with BriaClient(proxy.url, TOKEN, timeout=CLIENT_TIMEOUT, max_retries=0) as client:
        result = apply_plan(full_plan(tmp_path, images=1), client, policy=WAITING_POLICY)
    assert late.all_landed()

    assert result.ok, result.failed
    assert len([r for r in proxy.requests if r.route == "POST /v1/tailored-gen/projects"]) >= 2
    assert [p["id"] for p in account(server)["projects"]] == [late.answers[0]["id"]]
