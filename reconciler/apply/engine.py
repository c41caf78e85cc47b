"""The engine of the only package that writes: carries out a plan's steps, in parallel where the
order allows (each step by its handler, reconciler.apply.handlers).

Steps run as soon as every step they depend on is done, at most `parallelism` at once (uploads
within and across datasets run together). On the first failure, and on Ctrl-C, no new step is
started; the steps in flight finish, and the result says exactly which steps were done and which
were not, so a rerun (which re-plans from the live account) finishes the job.

`RECONCILER_CRASH_AFTER_OPS=K` makes the process exit abruptly (status 137, like SIGKILL) once K
steps are done. It is a test knob of the product, used by the crash suite to prove that an apply
killed at any point is finished by the next one.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

from reconciler.apply.context import ApplyContext
from reconciler.apply.handlers import ImageChanged, carry_out
from reconciler.apply.late_copies import LateCopyLeft, settle_late_copies
from reconciler.apply.wait import PollSettings
from reconciler.apply.writes import RetryPolicy, StepInterrupted
from reconciler.client import BriaClient
from reconciler.errors import ReconcilerError
from reconciler.plan import Plan, order_problem
from reconciler.secrets import redact
from reconciler.state import LiveState
from reconciler.steps import AnyStep

CRASH_AFTER_OPS_ENV = "RECONCILER_CRASH_AFTER_OPS"
DEFAULT_PARALLELISM = 8

EventKind = Literal["started", "done", "failed"]


@dataclass(frozen=True)
class ApplyEvent:
    kind: EventKind
    step: AnyStep
    message: str = ""  # the note of a done step, or the error of a failed one
    seconds: float = 0.0


@dataclass(frozen=True)
class ApplyResult:
    done: tuple[AnyStep, ...]  # in the order they finished
    failed: tuple[tuple[AnyStep, str], ...]  # steps that raised, with the message
    not_done: tuple[
        AnyStep, ...
    ]  # never started (blocked by a failure or the interrupt), plan order
    interrupted: bool = False
    started_models: tuple[tuple[str, int], ...] = ()  # ("project/model", id) started this run
    seconds: float = 0.0
    files_changed: tuple[str, ...] = ()  # image files whose content no longer matched the plan

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_done and not self.interrupted

    @property
    def completed(self) -> tuple[AnyStep, ...]:
        """The steps done (an alias of `done`)."""
        return self.done

    @property
    def remaining(self) -> tuple[AnyStep, ...]:
        """Every step not done, failed ones included, in plan order."""
        steps = (*(step for step, _ in self.failed), *self.not_done)
        return tuple(sorted(steps, key=lambda step: _id_order(step.id)))


@dataclass
class _Run:
    """Which steps are done, and which are ready: kept incrementally (plans of thousands of
    steps), ready steps taken in plan order."""

    steps: tuple[AnyStep, ...]
    done_ids: set[str] = field(default_factory=set)
    done: list[AnyStep] = field(default_factory=list)
    failed: list[tuple[AnyStep, str]] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    stopping: bool = False
    interrupted: bool = False
    _waiting: dict[str, int] = field(default_factory=dict)
    _dependents: dict[str, list[int]] = field(default_factory=dict)
    _ready: list[int] = field(default_factory=list)  # a heap of plan positions

    def __post_init__(self) -> None:
        for position, step in enumerate(self.steps):
            self._waiting[step.id] = len(set(step.depends_on))
            for dep in set(step.depends_on):
                self._dependents.setdefault(dep, []).append(position)
            if not step.depends_on:
                self._ready.append(position)
        heapq.heapify(self._ready)

    def take_ready(self) -> AnyStep | None:
        if not self._ready:
            return None
        step = self.steps[heapq.heappop(self._ready)]
        return step

    def mark_done(self, step: AnyStep) -> None:
        self.done_ids.add(step.id)
        self.done.append(step)
        for position in self._dependents.get(step.id, ()):
            dependent = self.steps[position].id
            self._waiting[dependent] -= 1
            if self._waiting[dependent] == 0:
                heapq.heappush(self._ready, position)


def apply_plan(
    plan: Plan,
    client: BriaClient,
    *,
    parallelism: int = DEFAULT_PARALLELISM,
    on_event: Callable[[ApplyEvent], None] | None = None,
    live: LiveState | None = None,
    policy: RetryPolicy | None = None,
    poll: PollSettings | None = None,
    cancel: threading.Event | None = None,
) -> ApplyResult:
    """Carry out `plan.steps` honouring `depends_on`; see the module docstring.

    `live` (the state the plan was made from) seeds resource and image ids; `cancel`, when set
    (e.g. by a SIGINT handler), stops the run like Ctrl-C does.
    """
    if parallelism < 1:
        raise ReconcilerError(f"parallelism '{parallelism}' must be at least 1")
    problem = order_problem(plan.steps)
    if problem is not None:
        step_id, dep = problem
        raise ReconcilerError(
            f"the plan is inconsistent: step '{step_id}' depends on '{dep}', which does not come "
            "before it; make the plan again"
            if dep is not None
            else f"the plan is inconsistent: step '{step_id}' appears twice; make it again"
        )
    emit = on_event or (lambda _event: None)
    ctx = ApplyContext.from_live(
        client,
        live,
        policy=policy or RetryPolicy(),
        poll=poll or PollSettings(),
        cancel=cancel or threading.Event(),
    )
    crash_after = _crash_after()
    run = _Run(plan.steps)
    began = time.monotonic()
    running: dict[Future[str], tuple[AnyStep, float]] = {}
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply") as pool:
        while True:
            try:
                if ctx.cancel.is_set():
                    run.stopping = run.interrupted = True
                while not run.stopping and len(running) < parallelism:
                    step = run.take_ready()
                    if step is None:
                        break
                    emit(ApplyEvent("started", step))
                    future = pool.submit(carry_out, ctx, step)
                    running[future] = (step, time.monotonic())
                if not running:
                    break
                finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                run.stopping = run.interrupted = True
                ctx.cancel.set()
                continue
            for future in finished:
                step, started = running.pop(future)
                elapsed = time.monotonic() - started
                try:
                    note = future.result()
                except StepInterrupted:  # reported as not done
                    continue
                except ReconcilerError as err:
                    run.stopping = True
                    run.failed.append((step, redact(str(err))))
                    if isinstance(err, ImageChanged):
                        run.files_changed.append(err.path)
                    emit(ApplyEvent("failed", step, redact(str(err)), elapsed))
                    continue
                except Exception as err:  # a bug: still stop cleanly and report
                    run.stopping = True
                    message = f"internal error: {type(err).__name__}: {redact(str(err))}"
                    run.failed.append((step, message))
                    emit(ApplyEvent("failed", step, message, elapsed))
                    continue
                run.mark_done(step)
                emit(ApplyEvent("done", step, note, elapsed))
                if crash_after is not None and len(run.done) >= crash_after:
                    os._exit(137)
    if ctx.late_watches and not run.failed and not run.interrupted:
        _settle_late_copies(ctx, run)
    failed_ids = {s.id for s, _ in run.failed}
    not_done = tuple(s for s in plan.steps if s.id not in run.done_ids and s.id not in failed_ids)
    return ApplyResult(
        done=tuple(run.done),
        failed=tuple(run.failed),
        not_done=not_done,
        interrupted=run.interrupted,
        started_models=tuple(
            (f"{ref.project}/{ref.remote_name}", model_id) for ref, model_id in ctx.started_models
        ),
        seconds=time.monotonic() - began,
        files_changed=tuple(run.files_changed),
    )


def _settle_late_copies(ctx: ApplyContext, run: _Run) -> None:
    """Once more before reporting success: the copies that timed-out creates made late."""
    try:
        settle_late_copies(ctx.late_watches, policy=ctx.policy, cancel=ctx.cancel)
    except StepInterrupted:
        run.interrupted = True
    except LateCopyLeft as err:
        run.failed.append((err.step, redact(str(err))))
    except ReconcilerError as err:
        run.failed.append((ctx.late_watches[0].step, redact(str(err))))


def _id_order(step_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in step_id if ch.isdigit())
    return (int(digits) if digits else 0, step_id)


def _crash_after() -> int | None:
    raw = os.environ.get(CRASH_AFTER_OPS_ENV)
    if not raw:
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        raise ReconcilerError(
            f"{CRASH_AFTER_OPS_ENV} '{raw}' is not a whole number; unset it or give a count"
        ) from None
