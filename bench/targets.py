"""The targets of issue 13, each measured next to its baseline in the same run.

    python bench/run.py --targets [--quick]      (or: python bench/targets.py [--quick])

Each target is a ratio against something measured (or exactly computed) in the same run, so a
noisy shared machine moves both sides:
  * Free tier (10/60 s), no-change plan of 14 datasets: wall <= 1.1 x the window floor
    (the 11th list of one endpoint may go only a window after the first), with --rate-limit free
    and with the limit learned from 429s.
  * 200 uploads under 10 per 5 s per endpoint, --parallelism 8: wall <= 1.1 x floor
    (uploads / rate), 429 answers <= 5% of requests (given the limit, and learned).
  * `apply --wait` with 3 models under 10/60 s: succeeds (the real CLI, limit learned).
  * No limit, 50 ms latency, 200 uploads, --parallelism 8: wall <= 1.5 x ideal (calls x latency
    / parallelism) and >= 5x faster than one call at a time; first request <= 0.5 s after the
    process starts (warm digest cache).
  * `reconciler --version` <= 2 x `python -c "import click, yaml"` (medians).
  * Peak memory of `apply` of 200 images of 10 MB each < 300 MB (the apply's own process; the
    emulator runs in another), next to the same apply of small images.
  * The emulator's own CPU per request (its own process, read from /proc), per kind: list
    projects, list the images of a 200-image dataset, upload an image, get a model; next to a
    bare Starlette app on the same uvicorn answering the same JSON (see emulator_cpu.py).
`--quick` shrinks every size and window (the smoke test); its figures mean nothing.
"""

from __future__ import annotations

import io
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from emulator_cpu import emulator_cpu
from PIL import Image

from reconciler.apply import apply_plan
from reconciler.client import BriaClient
from reconciler.client.pacing import RateLimit
from reconciler.emulator.server import EmulatorServer
from reconciler.live import read_live_state
from reconciler.manifest import load_manifests
from reconciler.plan import build_plan

TOKEN = "bench-token-not-secret"
API_VERSION = "tailored-gen/v1"


@dataclass(frozen=True)
class Sizes:
    free_window: float = 60.0  # Free tier: 10 per 60 s
    datasets: int = 14
    uploads: int = 200
    upload_window: float = 5.0  # 10 per 5 s
    wait_models: int = 3
    training_seconds: float = 15.0
    latency: float = 0.05
    fast_uploads: int = 200
    big_images: int = 200
    big_image_bytes: int = 10_000_000
    version_runs: int = 7
    emulator_reads: int = 1000  # requests per kind of read (uploads: the 200 that fill a dataset)
    emulator_rounds: int = 3
    emulator_uploads: int = 200  # per round, into a dataset of its own (then listed)


QUICK = Sizes(free_window=0.5, datasets=14, uploads=24, upload_window=0.5, training_seconds=1.0,
              latency=0.005, fast_uploads=10, big_images=4, big_image_bytes=1_000_000,
              version_runs=3, emulator_reads=30,
              emulator_rounds=1, emulator_uploads=10)  # fmt: skip

Row = tuple[str, str]


def png(seed: int, side: int = 1024) -> bytes:
    image = Image.new("RGB", (side, side), ((seed * 67) % 256, (seed * 131) % 256, 90))
    image.putpixel((seed % side, 0), (1, 2, 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def noise_png(size: int) -> bytes:
    """A valid PNG of about `size` bytes: random pixels, stored without compression (fast)."""
    side = max(1024, int(math.sqrt(size / 3)))
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    return out.getvalue()


Images = tuple[int, Callable[[int], bytes]]  # how many, and the bytes of image i


def write_tree(root: Path, datasets: dict[str, Images], models: dict[str, str]) -> Path:
    """One project 'bench' with the given datasets (name -> images, written one at a time) and
    models (name -> dataset); files older than the digest cache's freshness window."""
    past = time.time() - 3600
    docs = [
        f"apiVersion: {API_VERSION}\nkind: Project\nmetadata: {{name: bench}}\n"
        "spec: {ip_type: icons, ip_medium: illustration}\n"
    ]
    for name, (count, make) in datasets.items():
        folder = root / "images" / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            path = folder / f"img-{index:03d}.png"
            path.write_bytes(make(index))
            os.utime(path, (past, past))
        docs.append(
            f"apiVersion: {API_VERSION}\nkind: Dataset\nmetadata: {{name: {name}, project: bench}}"
            f"\nspec: {{images: images/{name}}}\n"
        )
    for name, dataset in models.items():
        docs.append(
            f"apiVersion: {API_VERSION}\nkind: Model\nmetadata: {{name: {name}, project: bench}}\n"
            f"spec: {{dataset: {dataset}, training_version: light}}\n"
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / "bench.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return root


def knobs(server: EmulatorServer, **values: float | int) -> None:
    httpx.put(f"{server.root_url}/_emulator/config", json=values, timeout=30).raise_for_status()


def reset(server: EmulatorServer) -> None:
    httpx.post(f"{server.root_url}/_emulator/reset", timeout=30).raise_for_status()


def desired_of(tree: Path) -> object:
    return load_manifests([str(tree)], cache_dir=Path(".reconciler/cache")).state


def converge(server: EmulatorServer, tree: Path) -> None:
    desired = desired_of(tree)
    with BriaClient(server.url, TOKEN) as client:
        plan = build_plan(desired, read_live_state(client, desired))  # type: ignore[arg-type]
        assert apply_plan(plan, client, parallelism=8).ok


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


# ---------------------------------------------------------------- the targets


def free_tier_plan(root: Path, sizes: Sizes) -> list[Row]:
    tree = write_tree(
        root / "free",
        {f"set{i:02d}": (1, lambda _n, i=i: png(i)) for i in range(sizes.datasets)},
        {},
    )
    rows: list[Row] = []
    per_window = 10
    floor = (math.ceil(sizes.datasets / per_window) - 1) * sizes.free_window
    with EmulatorServer(root / "emu-free", token=TOKEN, training_seconds=3600) as server:
        converge(server, tree)
        desired = desired_of(tree)
        for label, limit in (
            ("--rate-limit free", RateLimit(per_window, sizes.free_window)),
            ("limit learned from 429s", None),
        ):
            knobs(server, rate_limit_per_window=per_window, rate_window_s=sizes.free_window)
            with BriaClient(server.url, TOKEN, rate_limit=limit) as client:
                began = time.perf_counter()
                plan = build_plan(desired, read_live_state(client, desired))  # type: ignore[arg-type]
                wall = time.perf_counter() - began
                stats = client.stats.snapshot()
            assert not plan.has_changes
            ratio = wall / floor
            rows.append((
                f"Free tier (10/{sizes.free_window:g} s) no-change plan, {sizes.datasets} "
                f"datasets, {label}",
                f"{wall:.1f} s vs window floor {floor:g} s = {ratio:.2f}x (target <= 1.1x: "
                f"{verdict(ratio <= 1.1)}); {stats['requests']} requests, "
                f"{stats['by_status'].get('429', 0)} x 429",
            ))  # fmt: skip
        knobs(server, rate_limit_per_window=0)
    return rows


def paced_uploads(root: Path, sizes: Sizes) -> list[Row]:
    tree = write_tree(root / "paced", {"uploads": (sizes.uploads, lambda i: png(1000 + i))}, {})
    rows: list[Row] = []
    per_window = 10
    floor = sizes.uploads / (per_window / sizes.upload_window)
    with EmulatorServer(root / "emu-paced", token=TOKEN, training_seconds=3600) as server:
        desired = desired_of(tree)
        for label, limit in (
            (f"--rate-limit 10/{sizes.upload_window:g}s",
             RateLimit(per_window, sizes.upload_window)),
            ("limit learned from 429s", None),
        ):  # fmt: skip
            reset(server)
            with BriaClient(server.url, TOKEN) as reader:
                plan = build_plan(desired, read_live_state(reader, desired))  # type: ignore[arg-type]
            knobs(server, rate_limit_per_window=per_window, rate_window_s=sizes.upload_window)
            with BriaClient(server.url, TOKEN, rate_limit=limit) as client:
                began = time.perf_counter()
                result = apply_plan(plan, client, parallelism=8)
                wall = time.perf_counter() - began
                stats = client.stats.snapshot()
            knobs(server, rate_limit_per_window=0)
            limited = stats["by_status"].get("429", 0)
            share = limited / max(1, stats["requests"])
            ratio = wall / floor
            rows.append((
                f"{sizes.uploads} uploads under 10 per {sizes.upload_window:g} s, --parallelism 8,"
                f" {label}",
                f"{'ok' if result.ok else 'FAILED'}; {wall:.1f} s vs floor {floor:g} s = "
                f"{ratio:.2f}x (target <= 1.1x: {verdict(ratio <= 1.1)}); {limited} x 429 of "
                f"{stats['requests']} requests = {share:.1%} (target <= 5%: "
                f"{verdict(share <= 0.05)})",
            ))  # fmt: skip
    return rows


def wait_under_free_tier(root: Path, sizes: Sizes) -> list[Row]:
    models = {f"m{i}": "waitset" for i in range(1, sizes.wait_models + 1)}
    tree = write_tree(root / "wait", {"waitset": (3, lambda i: png(2000 + i))}, models)
    with EmulatorServer(
        root / "emu-wait", token=TOKEN, training_seconds=sizes.training_seconds
    ) as server:
        knobs(server, rate_limit_per_window=10, rate_window_s=sizes.free_window)
        env = {**os.environ, "BRIA_API_URL": server.url, "BRIA_API_TOKEN": TOKEN, "NO_COLOR": "1"}
        env.pop("BRIA_RATE_LIMIT", None)
        began = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "reconciler", "apply", str(tree), "--auto-approve", "--wait",
             "--wait-timeout", "900"],
            capture_output=True, text=True, timeout=1200, env=env,
        )  # fmt: skip
        wall = time.perf_counter() - began
        stats = httpx.get(f"{server.root_url}/_emulator/stats", timeout=30).json()
    waits = proc.stderr.count("for Bria's rate limit on")
    ok = proc.returncode == 0 and f"All {sizes.wait_models} model(s) completed" in proc.stdout
    if not ok:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
    return [(
        f"apply --wait, {sizes.wait_models} models, under 10/{sizes.free_window:g} s (learned)",
        f"exit {proc.returncode} ({'succeeds' if ok else 'FAILS'}; target: succeeds: "
        f"{verdict(ok)}); {wall:.1f} s (training {sizes.training_seconds:g} s); "
        f"{stats['requests']} requests, {stats['by_status'].get('429', 0)} x 429, "
        f"{waits} 'waiting' notices",
    )]  # fmt: skip


def unlimited_latency(root: Path, sizes: Sizes) -> list[Row]:
    tree = write_tree(root / "fast", {"fast": (sizes.fast_uploads, lambda i: png(3000 + i))}, {})
    rows: list[Row] = []
    with EmulatorServer(root / "emu-fast", token=TOKEN, training_seconds=3600) as server:
        desired = desired_of(tree)
        knobs(server, latency=sizes.latency)
        measured: dict[int, tuple[float, int]] = {}
        for parallelism in (8, 1):
            reset(server)
            with BriaClient(server.url, TOKEN) as client:
                began = time.perf_counter()
                plan = build_plan(desired, read_live_state(client, desired))  # type: ignore[arg-type]
                assert apply_plan(plan, client, parallelism=parallelism).ok
                measured[parallelism] = (time.perf_counter() - began, client.stats.requests)
        wall, calls = measured[8]
        serial, _ = measured[1]
        ideal = calls * sizes.latency / 8
        rows.append((
            f"{sizes.fast_uploads} uploads, no limit, {sizes.latency * 1000:g} ms latency, "
            "--parallelism 8",
            f"{wall:.2f} s for {calls} calls vs ideal {ideal:.2f} s = {wall / ideal:.2f}x (target "
            f"<= 1.5x: {verdict(wall <= 1.5 * ideal)}); one at a time {serial:.2f} s = "
            f"{serial / wall:.1f}x slower (target >= 5x: {verdict(serial >= 5 * wall)})",
        ))  # fmt: skip
        # the first request after the process starts (warm digest cache: the runs above)
        reset(server)
        first = first_request_after_start(server, tree)
        rows.append((
            "first request after process start (plan, warm digest cache)",
            f"{first:.2f} s (target <= 0.5 s: {verdict(first <= 0.5)})",
        ))  # fmt: skip
        knobs(server, latency=0)
    return rows


def first_request_after_start(server: EmulatorServer, tree: Path) -> float:
    """Seconds from spawning `reconciler --debug plan` to its first request leaving: the first
    debug line's arrival minus the duration it reports."""
    env = {**os.environ, "BRIA_API_URL": server.url, "BRIA_API_TOKEN": TOKEN, "NO_COLOR": "1"}
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--debug", "plan", str(tree)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    first = math.inf
    for line in proc.stderr:
        if line.startswith("debug: GET ") and "ms)" in line:
            arrived = time.perf_counter() - began
            took = float(line.rsplit("(", 1)[1].split(" ms)")[0]) / 1000
            first = arrived - took
            break
    proc.stderr.read()
    proc.wait(timeout=120)
    return first


def startup(sizes: Sizes) -> list[Row]:
    def median(argv: list[str]) -> float:
        times = []
        for _ in range(sizes.version_runs):
            began = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True, timeout=60)
            times.append(time.perf_counter() - began)
        return statistics.median(times)

    baseline = median([sys.executable, "-c", "import click, yaml"])
    version = median([sys.executable, "-m", "reconciler", "--version"])
    return [(
        "reconciler --version (median)",
        f"{version * 1000:.0f} ms vs python -c 'import click, yaml' {baseline * 1000:.0f} ms = "
        f"{version / baseline:.2f}x (target <= 2x: {verdict(version <= 2 * baseline)})",
    )]  # fmt: skip


def peak_memory(root: Path, sizes: Sizes) -> list[Row]:
    big = {"big": (sizes.big_images, lambda _i: noise_png(sizes.big_image_bytes))}
    big_tree = write_tree(root / "mem-big", big, {})
    small = {"small": (sizes.big_images, lambda i: png(4000 + i))}
    small_tree = write_tree(root / "mem-small", small, {})
    files = list((big_tree / "images" / "big").iterdir())
    mean = sum(f.stat().st_size for f in files) / len(files)
    peaks = {}
    for label, tree in (("small", small_tree), ("big", big_tree)):
        peaks[label] = apply_peak_rss(root / f"emu-mem-{label}", tree)
    big_mb, small_mb = peaks["big"] / 1e6, peaks["small"] / 1e6
    return [(
        f"peak memory, apply of {sizes.big_images} images of {mean / 1e6:.1f} MB, "
        "--parallelism 8",
        f"{big_mb:.0f} MB (target < 300 MB: {verdict(big_mb < 300)}); same apply of small "
        f"images: {small_mb:.0f} MB",
    )]  # fmt: skip


def apply_peak_rss(data_dir: Path, tree: Path) -> int:
    """Bytes of peak RSS of `reconciler apply` alone, against an emulator in another process
    (the digest cache warmed by a plan first, as in CI after `plan`)."""
    emulator = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--data", str(data_dir),
         "--token", TOKEN],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip().removeprefix("emulator listening on ")
        env = {**os.environ, "BRIA_API_URL": url, "BRIA_API_TOKEN": TOKEN, "NO_COLOR": "1"}
        subprocess.run([sys.executable, "-m", "reconciler", "plan", str(tree)],
                       capture_output=True, env=env, timeout=1200, check=True)  # fmt: skip
        child = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", str(tree), "--auto-approve"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        _pid, status, usage = os.wait4(child.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"apply failed: {child.stderr.read() if child.stderr else ''!r}")
        return usage.ru_maxrss * 1024  # kilobytes on Linux
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


SCENARIOS: dict[str, Callable[[Path, Sizes], list[Row]]] = {
    "free": free_tier_plan,
    "paced": paced_uploads,
    "wait": wait_under_free_tier,
    "latency": unlimited_latency,
    "startup": lambda _root, sizes: startup(sizes),
    "memory": peak_memory,
    "emulator": lambda root, sizes: emulator_cpu(
        root, sizes.emulator_reads, sizes.emulator_rounds, sizes.emulator_uploads
    ),
}


def run_targets(root: Path, quick: bool, only: list[str] | None = None) -> list[Row]:
    sizes = QUICK if quick else Sizes()
    rows: list[Row] = []
    for name, scenario in SCENARIOS.items():
        if only and name not in only:
            continue
        began = time.perf_counter()
        rows += scenario(root, sizes)
        print(f"  ({name}: {time.perf_counter() - began:.0f} s)", file=sys.stderr)
    return rows
