"""Progress of a long apply: in CI logs a line every few seconds with N/M and an ETA instead of a
line per image step; every step's line under --verbose; bars per phase on a terminal; an ETA
that accounts for the rate limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import World, make_world, set_knobs
from manifest_builders import image_files
from test_apply_engine import full_plan
from test_cli_apply import apply_on_a_terminal

from reconciler.client.pacing import EndpointPacer, RateLimit
from reconciler.commands.progress import Tally

IMAGES = 24
PROGRESS = re.compile(
    r"^apply: (\d+)/(\d+) steps done \(uploads (\d+)/24\), [\d.]+ steps/s, ETA (\d+ s|\?)$"
)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for made in make_world(tmp_path, monkeypatch):
        made.tree.project("lora")
        made.tree.dataset("lora", "lora-v1", image_files(IMAGES))
        made.tree.write()
        set_knobs(made.server, latency=0.02)  # 24 uploads at parallelism 2: about 0.5 s
        yield made


def test_ci_logs_get_progress_lines_not_a_line_per_upload(world: World) -> None:
    result = world.cli(
        "apply", "manifests", "--auto-approve", "--parallelism", "2",
        RECONCILER_PROGRESS_SECONDS="0.1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    progress = [PROGRESS.match(line) for line in lines if line.startswith("apply: ")]
    assert progress and all(progress), [ln for ln in lines if ln.startswith("apply: ")]
    done = [int(m.group(1)) for m in progress if m]
    assert done == sorted(done) and all(int(m.group(2)) == IMAGES + 3 for m in progress if m)
    step_lines = [line for line in lines if line.startswith("  done   ")]
    assert not any("UploadImage" in line for line in step_lines)
    assert any("CreateProject project 'lora'" in line for line in step_lines)  # resource steps stay
    assert "Apply complete: 27 steps done" in result.output


def test_verbose_keeps_one_line_per_step(world: World) -> None:
    result = world.cli("apply", "manifests", "--auto-approve", "--verbose")
    assert result.exit_code == 0, result.output
    step_lines = [line for line in result.output.splitlines() if line.startswith("  done   ")]
    assert len(step_lines) == IMAGES + 3
    assert sum("UploadImage" in line for line in step_lines) == IMAGES


def test_a_terminal_gets_progress_bars_per_phase(world: World) -> None:
    code, output = apply_on_a_terminal(world, "y", "--parallelism", "1")
    assert code == 0, output
    assert re.search(r"uploads\s.*\d+/24.*ETA", output), output[-2000:]
    # drawn while the uploads run, not only once at the end
    assert any(int(n) < 24 for n in re.findall(r"uploads\s.*?(\d+)/24", output)), output[-2000:]
    assert "Apply complete: 27 steps done" in output


def test_the_eta_accounts_for_the_rate_limit(tmp_path: Path) -> None:
    plan = full_plan(tmp_path, images=40)
    uploads = [s for s in plan.steps if type(s).__name__ == "UploadImage"]
    pacer = EndpointPacer(RateLimit(10, 60.0))
    tally = Tally(plan.steps, pacer.seconds_for)
    for step in plan.steps[:3]:
        tally.record(step)
    # 3 steps in 0.3 s would predict 4 s for the rest; 40 uploads at 10 a minute need 3 minutes
    assert tally.eta(0.3) == pytest.approx(180.0)
    unlimited = Tally(plan.steps, None)
    for step in plan.steps[:3]:
        unlimited.record(step)
    assert unlimited.eta(0.3) == pytest.approx(0.3 / 3 * (len(plan.steps) - 3))
    for step in uploads:
        tally.record(step)
    assert tally.eta(10.0) is not None and tally.eta(10.0) < 10  # no uploads left: throughput
    assert "uploads 40/40" in tally.line(10.0)
