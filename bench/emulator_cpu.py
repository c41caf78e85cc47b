"""The emulator's own CPU per request, per kind of request, next to a bare app's in the same run.

    python bench/run.py --targets --only emulator      (or: python bench/emulator_cpu.py)

`reconciler emulator` runs in its own process, so its CPU (user + system, from /proc) is its
alone; the requests come one at a time over one keep-alive connection from this process. Each
kind is measured over N requests after a few warm-up ones: list projects (5 projects), list
the images of a 200-image dataset, upload an image (the 200 uploads that fill a dataset), get
a model. The baseline, measured in the same run the same way: a bare Starlette app on the
same uvicorn settings (bare_app.py) that answers each route with the emulator's own JSON
(kept as Python objects and encoded per request, as any JSON API does) and reads and parses
an upload's body, so the ratio is what the emulator's own work costs on top of the framework.
Rounds alternate between the two servers; each figure is the least of its rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from reconciler.emulator.testing import b64, png

TOKEN = "bench-token-not-secret"
HEADERS = {"api_token": TOKEN}
HERE = Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")
# Per kind: how many times the emulator may cost the bare app's CPU per request.
TARGETS = {"list projects": 2.5, "list images": 3.0, "upload image": 6.0, "get model": 2.5}
# Measured before the cuts (31b69c7: a worker thread per request, Starlette's regex routes, h11):
# list projects 0.52 ms, list 200 images 2.2 ms, upload image 1.0-1.3 ms, get model 0.49 ms.

Row = tuple[str, str]
Kind = tuple[str, Callable[[httpx.Client, int], httpx.Response], int]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, its finished threads included (in clock ticks,
    so only good over many requests)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def thread_cpu(pid: int) -> dict[str, float]:
    """Per live thread, its CPU so far in seconds (nanosecond counters)."""
    times = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            times[task.name] = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError):
            continue
    return times


def cpu_snapshot(pid: int) -> tuple[float, dict[str, float]]:
    return cpu_seconds(pid), thread_cpu(pid)


def cpu_between(pid: int, before: tuple[float, dict[str, float]]) -> float:
    """CPU used since `before` (from `cpu_snapshot`): exact when no thread ended meanwhile,
    else from the coarser per-process counters."""
    ticks, threads = before
    now = thread_cpu(pid)
    if set(threads) <= set(now):
        return sum(now.values()) - sum(threads.values())
    return cpu_seconds(pid) - ticks


@contextmanager
def serving(argv: list[str]) -> Iterator[tuple[int, str]]:
    """A server process that prints `... listening on URL` first; its pid and URL."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        yield proc.pid, line.rsplit(" ", 1)[-1].removesuffix("/v1")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def png_b64(seed: int) -> str:
    """A distinct 1024 x 1024 PNG per seed (files are content-addressed: no shared ones)."""
    return b64(png(color=(seed % 256, seed // 256 % 256, 90)))


def seed_account(client: httpx.Client, datasets: int) -> dict[str, Any]:
    """5 projects, `datasets` empty datasets (one per round of uploads), a model on the first."""
    projects = [
        client.post(
            "/v1/tailored-gen/projects",
            json={"project_name": f"bench {i}", "ip_type": "icons", "ip_medium": "illustration"},
        ).json()
        for i in range(5)
    ]
    made = [
        client.post(
            "/v1/tailored-gen/datasets", json={"project_id": projects[0]["id"], "name": f"cpu{i}"}
        ).json()["id"]
        for i in range(datasets)
    ]
    model = client.post(
        "/v1/tailored-gen/models",
        json={"name": "cpu", "dataset_id": made[0], "training_version": "light"},
    ).json()
    return {"datasets": made, "model": model["id"]}


def kinds(ids: dict[str, Any], round_: int, uploads: list[str], reads: int) -> list[Kind]:
    """Round `round_`'s requests: its uploads fill its own dataset; the list reads the first
    one (full after round 0's uploads, which come before it)."""
    fill = f"/v1/tailored-gen/datasets/{ids['datasets'][round_]}/images"
    full = f"/v1/tailored-gen/datasets/{ids['datasets'][0]}/images"
    return [
        ("list projects", lambda c, _i: c.get("/v1/tailored-gen/projects"), reads),
        ("upload image", lambda c, i: c.post(fill, json={"file": uploads[i]}), len(uploads)),
        ("list images", lambda c, _i: c.get(full), reads),
        ("get model", lambda c, _i: c.get(f"/v1/tailored-gen/models/{ids['model']}"), reads),
    ]


def measure(pid: int, client: httpx.Client, kind: Kind, warmup: int = 5) -> tuple[float, Any]:
    """Seconds of server CPU per request of this kind, and its last answer. Warm-up requests
    use the indexes -1 .. -warmup (for uploads: the last images of the list)."""
    _name, send, count = kind
    for index in range(warmup):
        send(client, -1 - index).raise_for_status()
    time.sleep(0.05)  # let the server finish its side of the last answer
    before = cpu_snapshot(pid)
    for index in range(count - warmup):
        answer = send(client, index)
        answer.raise_for_status()
    time.sleep(0.05)
    return cpu_between(pid, before) / (count - warmup), answer.json()


def emulator_cpu(root: Path, reads: int = 1000, rounds: int = 3, uploads: int = 200) -> list[Row]:
    """Rounds alternate between the emulator and the bare app; each figure is the least of its
    rounds (the one least disturbed by whatever else the machine ran meanwhile)."""
    images = [[png_b64(r * uploads + i) for i in range(uploads)] for r in range(rounds)]
    emulator_argv = [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--data",
                     str(root / "emu-cpu"), "--token", TOKEN]  # fmt: skip
    figures: dict[str, dict[str, float]] = {"emulator": {}, "bare": {}}

    def measure_round(which: str, pid: int, client: httpx.Client, round_: int) -> dict[str, Any]:
        answers = {}
        for kind in kinds(ids, round_, images[round_], reads):
            seconds, answers[kind[0]] = measure(pid, client, kind)
            best = figures[which].get(kind[0], seconds)
            figures[which][kind[0]] = min(best, seconds)
        return answers

    with ExitStack() as stack:
        pid, url = stack.enter_context(serving(emulator_argv))
        emulator = stack.enter_context(httpx.Client(base_url=url, headers=HEADERS))
        ids = seed_account(emulator, rounds)
        canned = root / "bare-answers.json"
        canned.write_text(json.dumps(measure_round("emulator", pid, emulator, 0)), "utf-8")
        bare_pid, bare_url = stack.enter_context(
            serving([sys.executable, str(HERE / "bare_app.py"), str(canned)])
        )
        bare = stack.enter_context(httpx.Client(base_url=bare_url, headers=HEADERS))
        measure_round("bare", bare_pid, bare, 0)
        for round_ in range(1, rounds):
            measure_round("emulator", pid, emulator, round_)
            measure_round("bare", bare_pid, bare, round_)
    rows = []
    for name, seconds in figures["emulator"].items():
        baseline = figures["bare"][name]
        ratio = seconds / max(baseline, 1e-6)
        target = TARGETS[name]
        label = f"list the {uploads} images of a dataset" if name == "list images" else name
        rows.append((
            f"emulator CPU per request: {label}",
            f"{seconds * 1000:.2f} ms vs bare Starlette app {baseline * 1000:.2f} ms = "
            f"{ratio:.1f}x (target <= {target:g}x: {'met' if ratio <= target else 'NOT met'})",
        ))  # fmt: skip
    return rows


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        for row in emulator_cpu(Path(folder)):
            print(" | ".join(row))
