"""Waiting in apply: the bounded polls of single steps, and `apply --wait` for training.

A step that must wait (captions regenerating, a training stopping, a delete refused while a
model stops) polls with growing pauses up to `POLL_TIMEOUT`, and Ctrl-C ends the wait at once.

Training takes hours, so apply does not wait for it by default; with `--wait` it polls each model
(one `get_model` per model per round, pauses growing up to 30 s) and shows a live table on a
terminal, or one plain line per status change otherwise (CI logs). A model that ends Failed or
Stopped makes the command exit 1; the timeout (`TRAINING_WAIT_TIMEOUT` by default) stops waiting
(training goes on in Bria) and also exits 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from reconciler.apply.writes import StepInterrupted
from reconciler.client import BriaClient
from reconciler.client.retry_policy import POLL_FACTOR, TRAINING_POLL_FACTOR, Backoff
from reconciler.errors import ReconcilerError
from reconciler.state import FINAL_STATUSES, UNSUCCESSFUL_STATUSES, ModelStatus

if TYPE_CHECKING:
    from rich.table import Table

T = TypeVar("T")

#: Seconds a single step may wait: captions regenerating, a training stopping, a delete.
POLL_TIMEOUT = 1800.0
#: Seconds `apply --wait` waits for training by default.
TRAINING_WAIT_TIMEOUT = 4 * 3600.0


class WaitTimedOut(ReconcilerError):
    """A bounded wait (captions, training stop) did not end in time."""


@dataclass(frozen=True)
class PollSettings:
    initial_seconds: float = 0.1
    max_seconds: float = 10.0
    timeout_seconds: float = POLL_TIMEOUT


def poll_until(
    poll: PollSettings,
    cancel: threading.Event,
    what: str,
    read: Callable[[], T],
    done: Callable[[T], bool],
) -> T:
    """Call `read` with growing pauses until `done`; bounded by the poll timeout."""
    deadline = time.monotonic() + poll.timeout_seconds
    pauses = Backoff(poll.initial_seconds, poll.max_seconds, POLL_FACTOR, jitter=False).pauses()
    while True:
        pause = next(pauses)
        value = read()
        if done(value):
            return value
        if time.monotonic() + pause > deadline:
            raise WaitTimedOut(
                f"{what} did not finish within {poll.timeout_seconds:g} s; "
                "run apply again later to continue"
            )
        if cancel.wait(pause):
            raise StepInterrupted(f"interrupted while waiting: {what}")


class TrainingFailed(ReconcilerError):
    """A model we waited for ended Failed or Stopped."""


class TrainingWaitTimedOut(ReconcilerError):
    """--wait-timeout passed while models were still training."""


class TrainingWaitInterrupted(ReconcilerError):
    """Ctrl-C while waiting: training goes on in Bria; exit 130 like any interrupted apply."""

    exit_code = 130


@dataclass
class Watched:
    label: str  # "project/model"
    model_id: int
    status: str = "?"
    since: float = 0.0


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def wait_for_training(
    client: BriaClient,
    models: Sequence[tuple[str, int]],
    *,
    timeout: float = TRAINING_WAIT_TIMEOUT,
    interactive: bool = False,
    echo: Callable[[str], None] = print,
    initial_pause: float = 0.2,
    max_pause: float = 30.0,
    cancel: threading.Event,
) -> dict[str, str]:
    """Poll until every model is Completed/Failed/Stopped; returns label -> final status.
    Setting `cancel` (Ctrl-C) stops the wait."""
    watched = [Watched(label, model_id) for label, model_id in sorted(set(models))]
    if not watched:
        echo("No models are training; nothing to wait for.")
        return {}
    began = time.monotonic()
    deadline = began + timeout
    pauses = Backoff(initial_pause, max_pause, TRAINING_POLL_FACTOR, jitter=False).pauses()
    display = _LiveTable(watched, began) if interactive else None
    echo(f"Waiting for {len(watched)} model(s) to finish training (timeout {_elapsed(timeout)}).")
    try:
        while True:
            for item in watched:
                if item.status in FINAL_STATUSES:
                    continue
                status = client.get_model(item.model_id).status
                if status != item.status:
                    item.status, item.since = status, time.monotonic()
                    if display is None:
                        echo(
                            f"model '{item.label}': {status} (after {_elapsed(item.since - began)})"
                        )
            if display is not None:
                display.refresh()
            if all(item.status in FINAL_STATUSES for item in watched):
                break
            now = time.monotonic()
            still = ", ".join(f"'{i.label}'" for i in watched if i.status not in FINAL_STATUSES)
            if now >= deadline:
                raise TrainingWaitTimedOut(
                    f"stopped waiting after {_elapsed(timeout)}: {still} still training in Bria "
                    "(it goes on); run 'reconciler plan' later to see the result"
                )
            pause = next(pauses)
            if cancel.wait(min(pause, deadline - now)):
                raise TrainingWaitInterrupted(
                    f"stopped waiting (interrupted) after {_elapsed(now - began)}: {still} still "
                    "training in Bria (it goes on); run 'reconciler plan' later to see the result"
                )
    finally:
        if display is not None:
            display.close()
    failed = [i for i in watched if i.status in UNSUCCESSFUL_STATUSES]
    if failed:
        names = ", ".join(f"'{i.label}' ({i.status})" for i in failed)
        raise TrainingFailed(
            f"training did not complete for {names}; check the dataset and run apply again "
            "to train a replacement"
        )
    echo(f"All {len(watched)} model(s) completed training in {_elapsed(time.monotonic() - began)}.")
    return {i.label: i.status for i in watched}


class _LiveTable:
    """A rich live table of the watched models (terminal only)."""

    def __init__(self, watched: list[Watched], began: float) -> None:
        from rich.console import Console
        from rich.live import Live

        self._watched, self._began = watched, began
        self._live = Live(self._table(), console=Console(stderr=False), refresh_per_second=4)
        self._live.start()

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(title="Training")
        table.add_column("model")
        table.add_column("status")
        table.add_column("elapsed", justify="right")
        now = time.monotonic()
        for item in self._watched:
            style = "red" if item.status in UNSUCCESSFUL_STATUSES else ""
            style = "green" if item.status == ModelStatus.COMPLETED else style
            table.add_row(item.label, f"[{style}]{item.status}[/]" if style else item.status,
                          _elapsed(now - self._began))  # fmt: skip
        return table

    def refresh(self) -> None:
        self._live.update(self._table())

    def close(self) -> None:
        self._live.stop()
