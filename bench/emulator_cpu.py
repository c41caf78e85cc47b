"""The emulator's own CPU per request, per kind of request, next to a bare app's in the same run.

    python bench/run.py --targets --only emulator      (or: python bench/emulator_cpu.py)

`reconciler emulator` runs in its own process, so its CPU (user + system, from /proc) is its
alone; the requests come one at a time over one keep-alive connection from this process. Each
kind is measured over N requests after a few warm-up ones: list projects (5 projects), list
the images of a 200-image dataset, upload an image (the 200 uploads that fill that dataset),
get a model. The baseline, measured in the same run the same way: a bare Starlette app on the
same uvicorn settings (bare_app.py) that answers each route with the emulator's own JSON
(kept as Python objects and encoded per request, as any JSON API does) and reads and parses
an upload's body, so the ratio is what the emulator's own work costs on top of the framework.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from reconciler.emulator.testing import b64, png

TOKEN = "bench-token-not-secret"
HEADERS = {"api_token": TOKEN}
HERE = Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")
# Per kind: how many times the emulator may cost the bare app's CPU per request.
TARGETS = {"list projects": 3.0, "list 200 images": 3.0, "upload image": 12.0, "get model": 3.0}

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


def cpu_between(pid: int, before: tuple[float, dict[str, float]]) -> float:
    """CPU used since `before` (from `cpu_snapshot`): exact when no thread ended meanwhile,
    else from the coarser per-process counters."""
    ticks, threads = before
    now = thread_cpu(pid)
    if set(threads) <= set(now):
        return sum(now.values()) - sum(threads.values())
    return cpu_seconds(pid) - ticks


def cpu_snapshot(pid: int) -> tuple[float, dict[str, float]]:
    return cpu_seconds(pid), thread_cpu(pid)


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


def seed_account(client: httpx.Client) -> dict[str, Any]:
    """5 projects, a dataset (filled by the upload kind) and a model; ids and samples."""
    projects = [
        client.post(
            "/v1/tailored-gen/projects",
            json={"project_name": f"bench {i}", "ip_type": "icons", "ip_medium": "illustration"},
        ).json()
        for i in range(5)
    ]
    dataset = client.post(
        "/v1/tailored-gen/datasets", json={"project_id": projects[0]["id"], "name": "cpu"}
    ).json()
    model = client.post(
        "/v1/tailored-gen/models",
        json={"name": "cpu", "dataset_id": dataset["id"], "training_version": "light"},
    ).json()
    return {"projects": projects, "dataset": dataset["id"], "model": model["id"]}


def kinds(ids: dict[str, Any], uploads: list[str], reads: int) -> list[Kind]:
    images = f"/v1/tailored-gen/datasets/{ids['dataset']}/images"
    return [
        ("list projects", lambda c, _i: c.get("/v1/tailored-gen/projects"), reads),
        ("upload image", lambda c, i: c.post(images, json={"file": uploads[i]}), len(uploads)),
        ("list 200 images", lambda c, _i: c.get(images), reads),
        ("get model", lambda c, _i: c.get(f"/v1/tailored-gen/models/{ids['model']}"), reads),
    ]


def measure(pid: int, client: httpx.Client, kind: Kind, warmup: int = 5) -> tuple[float, Any]:
    """Seconds of server CPU per request of this kind, and its last answer."""
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


def emulator_cpu(root: Path, reads: int = 1000, uploads: int = 200) -> list[Row]:
    images = [png_b64(index) for index in range(uploads)]
    emulator_argv = [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--data",
                     str(root / "emu-cpu"), "--token", TOKEN]  # fmt: skip
    measured: dict[str, float] = {}
    answers: dict[str, Any] = {}
    with serving(emulator_argv) as (pid, url), httpx.Client(base_url=url, headers=HEADERS) as c:
        ids = seed_account(c)
        # warm-up uploads go first (images[-1..-5]); 200 in all
        for kind in kinds(ids, images, reads):
            measured[kind[0]], answers[kind[0]] = measure(pid, c, kind)
    canned = root / "bare-answers.json"
    canned.write_text(json.dumps(answers), encoding="utf-8")
    bare_argv = [sys.executable, str(HERE / "bare_app.py"), str(canned)]
    bare: dict[str, float] = {}
    with serving(bare_argv) as (pid, url), httpx.Client(base_url=url, headers=HEADERS) as c:
        for kind in kinds(ids, images, reads):
            bare[kind[0]], _ = measure(pid, c, kind)
    rows = []
    for name, seconds in measured.items():
        ratio = seconds / max(bare[name], 1e-6)
        target = TARGETS[name]
        rows.append((
            f"emulator CPU per request: {name}",
            f"{seconds * 1000:.2f} ms vs bare Starlette app {bare[name] * 1000:.2f} ms = "
            f"{ratio:.1f}x (target <= {target:g}x: {'met' if ratio <= target else 'NOT met'})",
        ))  # fmt: skip
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory() as folder:
        for row in emulator_cpu(Path(folder)):
            print(" | ".join(row))
