"""What a long apply shows while it runs: progress per phase with an ETA that knows the rate limit.

An apply of 200 images used to print 440 lines. Now:

* On a terminal: a rich progress bar per phase (uploads, captions, completing, training, ...) with
  N/M, the rate and the ETA; the bars disappear into one summary when the apply ends.
* Elsewhere (CI logs): every `RECONCILER_PROGRESS_SECONDS` (default 5) one line,
  `apply: 120/213 steps done (uploads 118/200), 9.8 steps/s, ETA 10 s`; the resource-level
  steps (create, complete, train, delete a dataset) keep their own line, the image-level ones
  (uploads, captions, image deletes) are summed up by those lines.
* With `--verbose`: every step's line, as before.
Failures are always printed at once, in red.

The ETA is the larger of what the throughput so far predicts and what Bria's rate limit allows
for the steps left (the client's pacer knows each endpoint's limit, given or learned), so an
apply paced at 10 uploads a minute says minutes, not seconds, from the start.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import click

from reconciler.secrets import redact
from reconciler.steps import (
    AnyStep,
    DeleteImage,
    RegenerateCaption,
    SetCaption,
    StartTraining,
    UpdateDataset,
    UploadImage,
    describe_step,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from reconciler.apply import ApplyEvent

PROGRESS_SECONDS_ENV = "RECONCILER_PROGRESS_SECONDS"
DEFAULT_PROGRESS_SECONDS = 5.0
IMAGE_STEPS = (UploadImage, SetCaption, RegenerateCaption, DeleteImage)
# The endpoint each bulk step calls (as the client's pacer names it), for the rate-limit ETA.
ENDPOINTS: dict[type, str] = {
    UploadImage: "POST /tailored-gen/datasets/{dataset_id}/images",
    SetCaption: "PUT /tailored-gen/datasets/{dataset_id}/images/{image_id}",
    RegenerateCaption: "PUT /tailored-gen/datasets/{dataset_id}/images/{image_id}",
    DeleteImage: "DELETE /tailored-gen/datasets/{dataset_id}/images/{image_id}",
}

SecondsFor = Callable[[str, int], float]  # (endpoint, requests) -> least seconds they take


def phase_of(step: AnyStep) -> str:
    if isinstance(step, UploadImage):
        return "uploads"
    if isinstance(step, SetCaption | RegenerateCaption):
        return "captions"
    if isinstance(step, DeleteImage):
        return "image deletes"
    if isinstance(step, UpdateDataset) and step.fields.get("status") == "completed":
        return "completing"
    if isinstance(step, StartTraining):
        return "training"
    return "other steps"


def progress_seconds() -> float:
    raw = os.environ.get(PROGRESS_SECONDS_ENV, "")
    try:
        return max(0.1, float(raw)) if raw.strip() else DEFAULT_PROGRESS_SECONDS
    except ValueError:
        return DEFAULT_PROGRESS_SECONDS


def _seconds(value: float) -> str:
    value = max(0.0, value)
    if value < 90:
        return f"{value:.0f} s"
    minutes, secs = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class Tally:
    """Counts per phase and the ETA; pure (a clock and the rate-limit floor are passed in)."""

    def __init__(self, steps: Sequence[AnyStep], seconds_for: SecondsFor | None) -> None:
        self.total = Counter(phase_of(step) for step in steps)
        self.done: Counter[str] = Counter()
        self.left_by_type: Counter[type] = Counter(type(step) for step in steps)
        self.steps = len(steps)
        self.finished = 0
        self._seconds_for = seconds_for

    def record(self, step: AnyStep) -> None:
        self.done[phase_of(step)] += 1
        self.left_by_type[type(step)] -= 1
        self.finished += 1

    def eta(self, elapsed: float) -> float | None:
        """Seconds left: max(throughput so far, the rate limit's floor); None when unknown."""
        left = self.steps - self.finished
        if left <= 0:
            return 0.0
        by_throughput = left * elapsed / self.finished if self.finished and elapsed > 0 else None
        floor = 0.0
        if self._seconds_for is not None:
            per_endpoint: Counter[str] = Counter()
            for kind, count in self.left_by_type.items():
                if kind in ENDPOINTS and count > 0:
                    per_endpoint[ENDPOINTS[kind]] += count
            floor = max((self._seconds_for(e, n) for e, n in per_endpoint.items()), default=0.0)
        if by_throughput is None:
            return floor or None
        return max(by_throughput, floor)

    def line(self, elapsed: float) -> str:
        phases = ", ".join(
            f"{phase} {self.done[phase]}/{count}"
            for phase, count in self.total.items()
            if phase != "other steps" and count > 1
        )
        rate = f", {self.finished / elapsed:.1f} steps/s" if elapsed > 0 and self.finished else ""
        eta = self.eta(elapsed)
        shown = "?" if eta is None else _seconds(eta)
        detail = f" ({phases})" if phases else ""
        return f"apply: {self.finished}/{self.steps} steps done{detail}{rate}, ETA {shown}"


class ApplyProgress:
    """The `on_event` of apply_plan, and a context manager around it."""

    def __init__(
        self,
        steps: Sequence[AnyStep],
        *,
        verbose: bool = False,
        interactive: bool | None = None,
        seconds_for: SecondsFor | None = None,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tally = Tally(steps, seconds_for)
        self.verbose = verbose
        self.interactive = sys.stdout.isatty() if interactive is None else interactive
        self.every = progress_seconds() if every is None else every
        self._clock = clock
        self._began = clock()
        self._last_line = self._began
        self._lock = threading.Lock()
        self._bars: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # ------------------------------------------------------------ context

    def __enter__(self) -> ApplyProgress:
        if self.interactive:
            self._start_bars()
        else:
            self._ticker = threading.Thread(target=self._tick, name="apply-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        if self._bars is not None:
            self._bars.stop()

    # ------------------------------------------------------------ events

    def on_event(self, event: ApplyEvent) -> None:
        with self._lock:
            if event.kind == "failed":
                self._echo(
                    f"  FAILED {event.step.id} {describe_step(event.step)}: "
                    f"{redact(event.message)}",
                    err=True,
                )
                return
            if event.kind != "done":
                return
            self.tally.record(event.step)
            if self.verbose or (self._bars is None and not isinstance(event.step, IMAGE_STEPS)):
                note = f": {event.message}" if event.message else ""
                self._echo(f"  done   {event.step.id} {describe_step(event.step)}{note}")
            if self._bars is not None:
                self._advance()

    # ------------------------------------------------------------ output

    def _echo(self, line: str, *, err: bool = False) -> None:
        if self._bars is not None:
            self._bars.console.print(line, style="red" if err else None, markup=False)
        elif err:
            click.secho(line, fg="red", err=True)
        else:
            click.echo(line)

    def _tick(self) -> None:
        """CI logs: one line every `every` seconds while steps remain."""
        while not self._stop.wait(self.every):
            with self._lock:
                if self.tally.finished >= self.tally.steps:
                    return
                click.echo(self.tally.line(self._clock() - self._began))

    def _start_bars(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bars = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA {task.fields[eta]}"),
            transient=True,
        )
        for phase, count in self.tally.total.items():
            self._tasks[phase] = self._bars.add_task(phase, total=count, rate="", eta="?")
        self._bars.start()

    def _advance(self) -> None:
        assert self._bars is not None
        elapsed = self._clock() - self._began
        eta = self.tally.eta(elapsed)
        rate = f"{self.tally.finished / elapsed:.1f}/s" if elapsed > 0 else ""
        for name, task in self._tasks.items():
            self._bars.update(
                task,
                completed=self.tally.done[name],
                rate=rate,
                eta="?" if eta is None else _seconds(eta),
            )
