"""Benchmark plan and apply against the emulator: API calls and wall time, next to the ideal.

    python bench/run.py [--images 200] [--latency 0.05] [--parallelism 8] [--seed 1]

Measures, in one run (so the ratios compare like with like):
  (a) a no-change plan over the examples and over a generated dataset of N images: calls, time;
  (b) an apply of N images with `latency` added to every request: calls and wall time, next to
      the ideal (calls x latency / parallelism) and to the same apply one call at a time
      (--parallelism 1);
  (c) the same apply with faults injected (5xx before acting, lost answers, 429s), rerun until it
      converges: the extra calls and time the faults cost against the clean run.
With `--targets` it measures issue 13's targets instead (rate limits, latency, start-up, memory;
see targets.py), each as a ratio against a baseline measured in the same run.
Prints a markdown table and writes it to bench/results/ (gitignored). Not part of the test suite
(a smoke test runs it with tiny sizes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from reconciler.apply import apply_plan
from reconciler.client import BriaClient
from reconciler.emulator.server import EmulatorServer
from reconciler.live import read_live_state
from reconciler.manifest import load_manifests
from reconciler.plan import build_plan

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-not-secret"


@dataclass
class Measure:
    calls: int
    seconds: float
    steps: int = 0


def draw_png(seed: int) -> bytes:
    image = Image.new("RGB", (1024, 1024), ((seed * 67) % 256, (seed * 131) % 256, 90))
    ImageDraw.Draw(image).rectangle((seed % 500, 100, seed % 500 + 300, 600), fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def write_big_dataset(root: Path, images: int) -> Path:
    """A project with one dataset of `images` generated PNGs and one light model."""
    folder = root / "big" / "images"
    folder.mkdir(parents=True)
    past = time.time() - 3600  # older than the digest cache's "too fresh to trust" window
    for i in range(images):
        path = folder / f"img-{i:03d}.png"
        path.write_bytes(draw_png(i))
        os.utime(path, (past, past))
    manifest = root / "big" / "big.yaml"
    manifest.write_text(
        "apiVersion: tailored-gen/v1\nkind: Project\nmetadata: {name: bench}\n"
        "spec: {ip_type: icons, ip_medium: illustration}\n---\n"
        "apiVersion: tailored-gen/v1\nkind: Dataset\nmetadata: {name: bench-set, project: bench}\n"
        "spec: {images: images}\n---\n"
        "apiVersion: tailored-gen/v1\nkind: Model\nmetadata: {name: bench-light, project: bench}\n"
        "spec: {dataset: bench-set, training_version: light}\n",
        encoding="utf-8",
    )
    return root / "big"


def knobs(server: EmulatorServer, **values: float | int) -> None:
    httpx.put(f"{server.root_url}/_emulator/config", json=values, timeout=30).raise_for_status()


def reset(server: EmulatorServer) -> None:
    httpx.post(f"{server.root_url}/_emulator/reset", timeout=30).raise_for_status()


def plan_once(server: EmulatorServer, manifests: Path) -> tuple[Measure, bool]:
    desired = load_manifests([str(manifests)], cache_dir=Path(".reconciler/cache")).state
    with BriaClient(server.url, TOKEN) as client:
        began = time.perf_counter()
        plan = build_plan(desired, read_live_state(client, desired))
        elapsed = time.perf_counter() - began
        return Measure(client.stats.requests, elapsed), plan.has_changes


def apply_until_converged(
    server: EmulatorServer, manifests: Path, parallelism: int, max_rounds: int = 10
) -> Measure:
    """Plan + apply, repeated until a plan is empty; calls and time summed over the rounds."""
    desired = load_manifests([str(manifests)], cache_dir=Path(".reconciler/cache")).state
    calls, seconds, steps = 0, 0.0, 0
    for _round in range(max_rounds):
        with BriaClient(server.url, TOKEN) as client:
            began = time.perf_counter()
            try:
                plan = build_plan(desired, read_live_state(client, desired))
                if not plan.has_changes:
                    seconds += time.perf_counter() - began
                    calls += client.stats.requests
                    return Measure(calls, seconds, steps)
                result = apply_plan(plan, client, parallelism=parallelism)
                steps += len(result.done)
            except Exception as err:  # a fault that outlasted the retries: the next round goes on
                print(f"  (round failed: {type(err).__name__})", file=sys.stderr)
            seconds += time.perf_counter() - began
            calls += client.stats.requests
    raise SystemExit(f"did not converge in {max_rounds} rounds")


@contextmanager
def workspace() -> Iterator[Path]:
    previous = Path.cwd()
    root = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    os.chdir(root)  # the manifest loader's repository boundary outside git is the cwd
    try:
        yield root
    finally:
        os.chdir(previous)
        shutil.rmtree(root, ignore_errors=True)


def run(images: int, latency: float, parallelism: int, seed: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with workspace() as root:
        shutil.copytree(REPO / "examples" / "manifests", root / "examples")
        big = write_big_dataset(root, images)
        with EmulatorServer(root / "emu", token=TOKEN, training_seconds=3600) as server:
            # (a) no-change plans
            apply_until_converged(server, root / "examples", parallelism)
            plan_once(server, root / "examples")  # warm the digest cache
            knobs(server, latency=latency)
            measure, changes = plan_once(server, root / "examples")
            assert not changes
            rows.append(("no-change plan, examples", f"{measure.calls} calls, "
                         f"{measure.seconds:.2f} s (latency {latency * 1000:.0f} ms)"))  # fmt: skip
            # (b) apply of N images, parallel and one at a time
            reset(server)
            clean = apply_until_converged(server, big, parallelism)
            ideal = clean.calls * latency / parallelism
            rows.append((f"apply {images} images, --parallelism {parallelism}",
                         f"{clean.calls} calls, {clean.seconds:.2f} s"))  # fmt: skip
            ratio = clean.seconds / max(ideal, 1e-9)
            rows.append(("ideal (calls x latency / parallelism)",
                         f"{ideal:.2f} s (measured / ideal = {ratio:.2f})"))  # fmt: skip
            plan_once(server, big)  # warm cache (the apply read the files once)
            measure, changes = plan_once(server, big)
            assert not changes
            rows.append((f"no-change plan, {images} images",
                         f"{measure.calls} calls, {measure.seconds:.2f} s"))  # fmt: skip
            reset(server)
            serial = apply_until_converged(server, big, 1)
            slower = serial.seconds / max(clean.seconds, 1e-9)
            rows.append((f"apply {images} images, --parallelism 1",
                         f"{serial.calls} calls, {serial.seconds:.2f} s "
                         f"(x{slower:.1f} the parallel time)"))  # fmt: skip
            # (c) faults
            reset(server)
            knobs(server, latency=latency, failure_rate=0.05, lost_response_rate=0.05,
                  rate_limit_every=25, retry_after=0.2, seed=seed)  # fmt: skip
            faulty = apply_until_converged(server, big, parallelism)
            knobs(server, failure_rate=0.0, lost_response_rate=0.0, rate_limit_every=0)
            extra_calls = (faulty.calls / max(clean.calls, 1) - 1) * 100
            extra_time = (faulty.seconds / max(clean.seconds, 1e-9) - 1) * 100
            cost = (
                f"{faulty.calls} calls, {faulty.seconds:.2f} s: "
                f"+{faulty.calls - clean.calls} calls ({extra_calls:.0f}%), "
                f"+{faulty.seconds - clean.seconds:.2f} s ({extra_time:.0f}%)"
            )
            rows.append((f"apply {images} images with faults (5%/5%/429 every 25)", cost))
    return rows


def render(rows: list[tuple[str, str]], args: argparse.Namespace) -> str:
    lines = [
        f"## reconciler bench ({time.strftime('%Y-%m-%d %H:%M:%S')})",
        "",
        f"images={args.images} latency={args.latency}s parallelism={args.parallelism} "
        f"seed={args.seed}",
        "",
        "| measure | result |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--targets", action="store_true", help="Measure issue 13's targets.")
    parser.add_argument("--quick", action="store_true", help="With --targets: tiny sizes.")
    parser.add_argument("--only", nargs="*", help="With --targets: these scenarios only.")
    args = parser.parse_args(argv)
    if args.targets:
        from targets import run_targets

        with workspace() as root:
            rows = run_targets(root, args.quick, args.only)
    else:
        rows = run(args.images, args.latency, args.parallelism, args.seed)
    text = render(rows, args)
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.results / f"bench-{stamp}.md").write_text(text, encoding="utf-8")
    (args.results / f"bench-{stamp}.json").write_text(
        json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=2),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
