"""The engine under Bria's rate limit: one home per retry (a persistent 429 costs the client's
bounded attempts, not those times the engine's), and a parallel apply paced by the shared
per-endpoint limiter so that 429s stay rare and every step is done."""

from __future__ import annotations

from pathlib import Path

from e2e_support import TOKEN, admin, running_emulator, set_knobs
from test_apply_engine import FAST, full_plan, plan_of

from reconciler.apply import apply_plan
from reconciler.client import BriaClient
from reconciler.client.pacing import RateLimit

CREATE_PROJECT = "POST /v1/tailored-gen/projects"
UPLOAD = "POST /v1/tailored-gen/datasets/{dataset_id}/images"


def test_a_persistent_429_sends_the_clients_attempts_only(tmp_path: Path) -> None:
    create_project = full_plan(tmp_path, images=1).steps[0]
    with running_emulator(tmp_path / "emu", rate_limit_every=1, retry_after=0) as server:
        with BriaClient(server.url, TOKEN, max_retries=5, backoff_max=0.01) as client:
            result = apply_plan(plan_of(create_project), client, policy=FAST)
        by_route = admin(server, "GET", "stats")["by_route"]
    assert not result.ok
    [(step, message)] = result.failed
    assert step.id == "s1"
    assert "429 Too Many Requests" in message and "(gave up after 6 attempts)" in message
    assert by_route == {CREATE_PROJECT: 6}  # was 36: client x engine


def test_parallel_uploads_are_paced_by_one_limiter_for_all_workers(tmp_path: Path) -> None:
    plan = full_plan(tmp_path, images=8)
    with running_emulator(tmp_path / "emu") as server:
        set_knobs(server, rate_limit_per_window=4, rate_window_s=0.5)
        with BriaClient(server.url, TOKEN, rate_limit=RateLimit(4, 0.5)) as client:
            result = apply_plan(plan, client, parallelism=8, policy=FAST)
        stats = admin(server, "GET", "stats")
    assert result.ok, result.failed
    assert stats["by_route"][UPLOAD] == 8  # each upload once: no 429, no repeat
    assert stats["by_status"].get("429", 0) == 0
