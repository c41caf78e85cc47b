"""Pure: desired x live -> an ordered, immutable plan of typed steps.

The plan is a value: `build_plan` makes it completely up front (the diff in `reconciler.diff`
decides what and why; this module orders the steps and numbers them), `plan` renders exactly
these steps and `apply` carries out exactly these steps. It records the fingerprint and scope of
the live state it was made from (reconciler.read_scope), so `apply --plan` can refuse a plan the
account has moved away from. Saving and loading it is `reconciler.plan_file`.
"""

from __future__ import annotations

import dataclasses
import heapq
from dataclasses import dataclass, field

from reconciler.adoption_lock import LockUpdate
from reconciler.budget import Budget, Pricing, plan_budget
from reconciler.diff import DiffResult, diff_states
from reconciler.policies import PolicyResult, PolicyRule, evaluate
from reconciler.read_scope import ReadScope, fingerprint, scope_from_desired
from reconciler.state import DesiredState, LiveState
from reconciler.steps import Action, AnyStep, Change
from reconciler.training_hours import REFERENCE, hours_text

FORMAT_VERSION = 1

__all__ = ["Action", "Change", "Plan", "build_plan"]

#: The actions the summary counts, in the order it lists them.
COUNTED_ACTIONS: tuple[Action, ...] = ("create", "update", "clone", "replace", "delete")


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    steps: tuple[AnyStep, ...]  # topologically ordered; apply may run independent ones in parallel
    fingerprint: str  # of the live state the plan was made from
    prune: bool = False
    format_version: int = FORMAT_VERSION
    errors: tuple[str, ...] = field(default=())  # changes refused (e.g. ip_type change)
    #: plan-wide notes the summary repeats loudly: training to start, completed models lost
    warnings: tuple[str, ...] = field(default=())
    #: what the live state was read for: (project, (declared dataset bases...)) pairs, sorted;
    #: `apply --plan` re-reads exactly this to check the fingerprint
    read_scope: ReadScope = field(default_factory=ReadScope)
    budget: Budget = field(default_factory=Budget)  # trainings, hours, cost
    policies: tuple[PolicyResult, ...] = ()  # each policy gate's result

    @property
    def blocking_policies(self) -> tuple[PolicyResult, ...]:
        """Failed hard policies, and failed soft ones not overridden: the plan is refused."""
        return tuple(result for result in self.policies if result.blocks)

    #: adoption locks apply rewrites once every step is done (no API call; not a change)
    lock_updates: tuple[LockUpdate, ...] = field(default=())

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)

    def summary(self) -> dict[str, int]:
        """How many changes of each counted action: {create, update, clone, replace, delete}."""
        counts: dict[str, int] = dict.fromkeys(COUNTED_ACTIONS, 0)
        for change in self.changes:
            if change.action in counts:
                counts[change.action] += 1
        return counts

    def steps_of(self, change: Change) -> tuple[AnyStep, ...]:
        return change.steps


def build_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    prune: bool = False,
    read_scope: ReadScope | None = None,
    history: frozenset[str] | None = None,
    spend: SpendOptions | None = None,
) -> Plan:
    """The whole plan, ordered and numbered; refused changes are in `Plan.errors`.
    `read_scope`: what `live` was read for (derived from `desired` when not given); `history`:
    the names earlier plans saw declared, for the wording of renames (`reconciler.name_history`);
    `spend`: superseded trainings, pricing and policies (none by default)."""
    spend = spend or SpendOptions()
    result = diff_states(
        desired,
        live,
        prune=prune,
        history=history,
        keep_superseded=spend.keep_superseded,
        now=spend.now,
    )
    plan = assemble_plan(result, fingerprint(live), prune=prune)
    scope = read_scope if read_scope is not None else scope_from_desired(desired)
    budget = plan_budget(plan.changes, plan.steps, live, spend.pricing)
    policies = evaluate(spend.rules, plan.changes, budget, spend.overrides)
    warnings = (*_training_warning(budget), *plan.warnings)
    return dataclasses.replace(
        plan, read_scope=scope, budget=budget, policies=policies, warnings=warnings
    )


def _training_warning(budget: Budget) -> list[str]:
    """ "N models will train (...)": the reference's 1-3 hours each, or, with this account's own
    history or the published estimates, the budget's hours in all (never contradicting the
    budget line)."""
    if not budget.start:
        return []
    noun = "model will" if budget.start == 1 else "models will"
    history = any(hours.samples for hours in budget.durations.values())
    if not history and all(hours == REFERENCE for hours in budget.durations.values()):
        return [f"{budget.start} {noun} train (1-3 hours each)"]
    low, high = hours_text(budget.hours_low), hours_text(budget.hours_high)
    span = low if low == high else f"{low.removesuffix(' h')}-{high}"
    source = "from this account's history" if history else "Bria's published estimates"
    return [f"{budget.start} {noun} train ({span} in all, {source})"]


@dataclass(frozen=True)
class SpendOptions:
    """What a plan is told about spending: keep superseded trainings running (--keep-superseded),
    the time now (for how long a training has left), the pricing and the policy gates of
    reconciler.yaml, and the policies overridden (--override)."""

    keep_superseded: bool = False
    now: float | None = None
    pricing: Pricing | None = None
    rules: tuple[PolicyRule, ...] = ()
    overrides: frozenset[str] = frozenset()


def assemble_plan(result: DiffResult, live_fingerprint: str, *, prune: bool = False) -> Plan:
    """Order the diff's steps (prerequisites first, else in the order the diff made them) and
    renumber them `s001`..; nothing else about them changes."""
    keyed = [step for change in result.changes for step in change.steps]
    order = _topological_order(keyed)
    ids = {keyed[i].id: f"s{n:03d}" for n, i in enumerate(order, start=1)}
    position = {key: n for n, key in enumerate(ids)}
    numbered: dict[str, AnyStep] = {}
    for i in order:
        step = keyed[i]
        deps = sorted(set(step.depends_on), key=lambda key: position[key])
        numbered[step.id] = dataclasses.replace(
            step, id=ids[step.id], depends_on=tuple(ids[key] for key in deps)
        )
    changes = tuple(
        dataclasses.replace(
            change,
            steps=tuple(
                sorted((numbered[s.id] for s in change.steps), key=lambda s: step_number(s.id))
            ),
        )
        for change in result.changes
    )
    steps = tuple(numbered[keyed[i].id] for i in order)
    return Plan(
        changes=changes,
        steps=steps,
        fingerprint=live_fingerprint,
        prune=prune,
        errors=tuple(result.errors),
        warnings=tuple(result.warnings),
        lock_updates=tuple(result.lock_updates),
    )


def step_number(step_id: str) -> int:
    return int(step_id[1:])


def _topological_order(steps: list[AnyStep]) -> list[int]:
    """Indices of `steps` so that every step comes after its prerequisites; ties keep the order
    in which the diff produced them (deterministic, and readable: a change's steps together)."""
    index = {step.id: i for i, step in enumerate(steps)}
    if len(index) != len(steps):
        raise ValueError("duplicate step keys in the plan")
    waiting = [0] * len(steps)
    unlocks: list[list[int]] = [[] for _ in steps]
    for i, step in enumerate(steps):
        for key in set(step.depends_on):
            if key not in index:
                raise ValueError(f"step {step.id} depends on unknown step {key}")
            waiting[i] += 1
            unlocks[index[key]].append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in unlocks[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(order) != len(steps):
        raise ValueError("the plan's steps depend on each other in a cycle")
    return order


def order_problem(steps: tuple[AnyStep, ...]) -> tuple[str, str | None] | None:
    """The one check of a plan's order, for a loaded plan and for apply: (step id, None) for a
    step listed twice, (step id, dependency) for a step depending on one that does not come
    before it, or None when apply can follow the order."""
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            return (step.id, None)
        missing = [dep for dep in step.depends_on if dep not in seen]
        if missing:
            return (step.id, missing[0])
        seen.add(step.id)
    return None
