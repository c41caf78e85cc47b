"""Policy gates on a plan, built in and named: what a team allows a plan to spend or lose.

In the spirit of Atlantis policy checks and Sentinel's enforcement levels, four policies, each set
in the project's config file (`reconciler.yaml`, see `reconciler.spend_config`) at a level:

* `max-trainings: {level, limit}`: at most `limit` trainings started by one plan;
* `max-training-hours: {level, limit}`: at most `limit` hours of training (the budget's upper
  bound);
* `no-delete-completed-model: level`: no Completed model deleted (its training lost);
* `no-retrain-completed-model: level`: no Completed model replaced by a new training.

`advisory` warns; `soft` refuses unless `--override NAME`; `hard` refuses. `plan` shows every
policy's result and exits 1 when a soft or hard one fails without override; `apply` enforces
them before any write. Pure: evaluated on the plan's changes and budget.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from reconciler.budget import Budget
from reconciler.state import ModelStatus
from reconciler.steps import Change
from reconciler.wording import plural, quoted

Level = Literal["advisory", "soft", "hard"]
LEVELS: tuple[str, ...] = get_args(Level)
#: policy name -> whether it takes a limit
POLICIES = {
    "max-trainings": True,
    "max-training-hours": True,
    "no-delete-completed-model": False,
    "no-retrain-completed-model": False,
}


@dataclass(frozen=True)
class PolicyRule:
    name: str
    level: Level
    limit: float | None = None


@dataclass(frozen=True)
class PolicyResult:
    name: str
    level: Level
    passed: bool
    message: str  # what was found, in one sentence
    overridden: bool = False  # a failed soft policy with --override NAME

    @property
    def blocks(self) -> bool:
        """A failure that refuses the plan: hard, or soft without override."""
        if self.passed or self.level == "advisory":
            return False
        return self.level == "hard" or not self.overridden

    @property
    def warns(self) -> bool:
        return not self.passed and not self.blocks

    def line(self) -> str:
        """`Policy max-trainings (soft): FAILED: 3 trainings, more than 2 (--override ...)`."""
        if self.passed:
            return f"Policy {self.name} ({self.level}): passed: {self.message}"
        if self.level == "advisory":
            return f"Policy {self.name} (advisory): warning: {self.message}"
        if self.overridden:
            return f"Policy {self.name} (soft): overridden (--override {self.name}): {self.message}"
        how = (
            f"pass --override {self.name} to apply anyway"
            if self.level == "soft"
            else "a hard policy cannot be overridden: change the manifests or the policy"
        )
        return f"Policy {self.name} ({self.level}): FAILED: {self.message}; {how}"


def evaluate(
    rules: Sequence[PolicyRule],
    changes: Sequence[Change],
    budget: Budget,
    overrides: Collection[str] = (),
) -> tuple[PolicyResult, ...]:
    checked = [PolicyResult(r.name, r.level, *_check(r, changes, budget)) for r in rules]
    return with_overrides(checked, overrides)


def with_overrides(
    results: Sequence[PolicyResult], overrides: Collection[str]
) -> tuple[PolicyResult, ...]:
    """The same results with `--override` applied again (a saved plan carried out later)."""
    return tuple(
        replace(r, overridden=not r.passed and r.level == "soft" and r.name in overrides)
        for r in results
    )


def for_saved_plan(
    saved: Sequence[PolicyResult],
    rules: Sequence[PolicyRule],
    changes: Sequence[Change],
    budget: Budget,
    overrides: Collection[str] = (),
) -> tuple[PolicyResult, ...]:
    """The policies a saved plan is held to when it is carried out: the config's rules as they
    are now, evaluated on the saved changes and budget, and every policy the plan was made with
    that the config no longer sets (so moving or dropping reconciler.yaml lifts nothing); each
    with the overrides of this apply."""
    now = evaluate(rules, changes, budget, overrides)
    named = {result.name for result in now}
    kept = with_overrides([r for r in saved if r.name not in named], overrides)
    return (*now, *kept)


def _check(rule: PolicyRule, changes: Sequence[Change], budget: Budget) -> tuple[bool, str]:
    if rule.name == "max-trainings":
        limit = int(rule.limit or 0)
        found = plural(budget.start, "training")
        return budget.start <= limit, f"{found} to start, at most {limit} allowed"
    if rule.name == "max-training-hours":
        hours = rule.limit or 0.0
        return (
            budget.hours_high <= hours,
            f"up to {budget.hours_high:g} h of training, at most {hours:g} h allowed",
        )
    if rule.name == "no-delete-completed-model":
        return budget.lost == 0, f"{plural(budget.lost, 'completed model')} deleted"
    retrained = [
        c.address.removeprefix("model.")
        for c in changes
        if c.action == "replace"
        and c.address.startswith("model.")
        and (c.before or {}).get("status") == ModelStatus.COMPLETED
    ]
    if not retrained:
        return True, "no completed model retrained"
    return False, f"{plural(len(retrained), 'completed model')} retrained: {quoted(retrained)}"


def result_to_json(result: PolicyResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "level": result.level,
        "passed": result.passed,
        "overridden": result.overridden,
        "blocks": result.blocks,
        "message": result.message,
    }


def result_from_json(data: dict[str, Any]) -> PolicyResult:
    return PolicyResult(
        data["name"], data["level"], data["passed"], data["message"], data["overridden"]
    )
