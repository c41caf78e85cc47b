"""The training budget of a plan: trainings started, stopped and lost, their hours, their cost.

A training takes hours and costs money, and the plan is where a team decides to spend it, so
every plan says it as numbers a reviewer and a policy can read: how many trainings it starts
(and how many of those replace an existing model), how many it stops, how many Completed models
it deletes (their training is lost), and the time the new trainings will likely take, as a range:
the account's own history per `training_version` where it has some, else the reference's 1-3 h
(`reconciler.training_hours`). An optional pricing (`reconciler.yaml` or `--pricing FILE`: a
price per training hour or per training, per training_version; Bria publishes none) adds cost.
Pure: computed from the plan's steps and the live state it was made from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.state import LiveModel, LiveState, ModelStatus
from reconciler.steps import (
    AnyStep,
    Change,
    CreateModel,
    DeleteModel,
    DeleteProject,
    StartTraining,
    StopTraining,
)
from reconciler.training_hours import (
    REFERENCE,
    HoursRange,
    hours_for,
    hours_text,
    training_hours,
)
from reconciler.wording import plural


@dataclass(frozen=True)
class Price:
    """What one training of a training_version costs: per hour of training, or per training."""

    per_hour: float | None = None
    per_training: float | None = None


@dataclass(frozen=True)
class Pricing:
    currency: str = "USD"
    prices: Mapping[str, Price] = field(default_factory=dict)  # training_version -> price
    source: str = ""  # the file it was read from


@dataclass(frozen=True)
class Budget:
    start: int = 0  # trainings this plan starts
    replace: int = 0  # of those, trainings that replace an existing model (a retrain)
    stop: int = 0  # trainings this plan stops
    lost: int = 0  # Completed models this plan deletes (their training is lost)
    hours_low: float = 0.0
    hours_high: float = 0.0
    #: training_version -> the hour range one training of it takes, and where that comes from
    durations: Mapping[str, HoursRange] = field(default_factory=dict)
    cost_low: float | None = None  # when priced
    cost_high: float | None = None
    currency: str | None = None

    def line(self) -> str:
        """`Training budget: 2 to start, 1 to replace, 1 to stop, 0 completed models lost; 2-6 h
        of training (light: 1-3 h each, reference)` (the trainings to replace are among those to
        start)."""
        text = (
            f"Training budget: {self.start} to start, {self.replace} to replace, {self.stop} to "
            f"stop, {plural(self.lost, 'completed model')} lost"
        )
        if self.start:
            text += f"; {_range(self.hours_low, self.hours_high)} of training"
            text += " (" + "; ".join(_duration_note(v, r) for v, r in self.durations.items()) + ")"
        if self.cost_low is not None and self.cost_high is not None:
            text += f"; cost {_money(self.cost_low, self.cost_high, self.currency or '')}"
        return text

    def one_training(self) -> str:
        """How long one training of this plan takes: `1-3 h` (the widest range over the
        versions it trains; the reference's when it trains none)."""
        ranges = list(self.durations.values()) or [REFERENCE]
        return _range(min(r.low for r in ranges), max(r.high for r in ranges))


def _range(low: float, high: float) -> str:
    return (
        hours_text(low)
        if low == high
        else f"{hours_text(low).removesuffix(' h')}-{hours_text(high)}"
    )


def _duration_note(version: str, hours: HoursRange) -> str:
    where = f"this account's {plural(hours.samples, 'training')}" if hours.samples else "reference"
    return f"{version or 'model'}: {_range(hours.low, hours.high)} each, {where}"


def _money(low: float, high: float, currency: str) -> str:
    def amount(value: float) -> str:
        return f"{value:,.2f}".removesuffix(".00")

    text = amount(low) if low == high else f"{amount(low)}-{amount(high)}"
    return f"{text} {currency}".strip()


def plan_budget(
    changes: Sequence[Change],
    steps: Sequence[AnyStep],
    live: LiveState,
    pricing: Pricing | None = None,
) -> Budget:
    """The budget of the plan made of `changes` / `steps` from `live`."""
    models = {m.id: m for p in live.projects for d in p.datasets or () for m in d.models}
    versions = _training_versions(steps, models)
    history = training_hours(live)
    starts = [s for s in steps if isinstance(s, StartTraining)]
    durations: dict[str, HoursRange] = {}
    low = high = 0.0
    cost_low = cost_high = 0.0
    priced = pricing is not None
    for step in starts:
        version = versions.get(step.model.key, "")
        hours = hours_for(history, version)
        durations.setdefault(version, hours)
        low, high = low + hours.low, high + hours.high
        price = pricing.prices.get(version) if pricing is not None else None
        if price is None:
            priced = False
        elif price.per_training is not None:
            cost_low, cost_high = cost_low + price.per_training, cost_high + price.per_training
        elif price.per_hour is not None:
            cost_low, cost_high = (
                cost_low + hours.low * price.per_hour,
                cost_high + hours.high * price.per_hour,
            )
    return Budget(
        start=len(starts),
        replace=sum(1 for c in changes if c.action == "replace" and c.address.startswith("model.")),
        stop=sum(1 for s in steps if isinstance(s, StopTraining)),
        lost=_lost(steps, models, live),
        hours_low=round(low, 2),
        hours_high=round(high, 2),
        durations=dict(sorted(durations.items())),
        cost_low=round(cost_low, 2) if priced else None,
        cost_high=round(cost_high, 2) if priced else None,
        currency=pricing.currency if pricing is not None else None,
    )


def _training_versions(
    steps: Sequence[AnyStep], models: Mapping[int, LiveModel]
) -> dict[tuple[str, str, str], str]:
    """Model key -> training_version, for the models the steps start."""
    found = {
        s.model.key: s.training_version or s.training_mode or ""
        for s in steps
        if isinstance(s, CreateModel)
    }
    for step in steps:
        if isinstance(step, StartTraining) and step.model.key not in found:
            live = models.get(step.model.id) if step.model.id is not None else None
            found[step.model.key] = live.training_kind if live else ""
    return found


def _lost(steps: Sequence[AnyStep], models: Mapping[int, LiveModel], live: LiveState) -> int:
    lost = {
        model.id
        for s in steps
        if isinstance(s, DeleteModel)
        and (model := models.get(s.model.id or -1)) is not None
        and model.status == ModelStatus.COMPLETED
    }
    deleted_projects = {s.project.id for s in steps if isinstance(s, DeleteProject)}
    for project in live.projects:
        if project.id in deleted_projects:
            lost |= {
                m.id
                for d in project.datasets or ()
                for m in d.models
                if m.status == ModelStatus.COMPLETED
            }
    return len(lost)


def budget_to_json(budget: Budget) -> dict[str, Any]:
    data: dict[str, Any] = {
        "trainings_to_start": budget.start,
        "trainings_to_replace": budget.replace,
        "trainings_to_stop": budget.stop,
        "completed_models_lost": budget.lost,
        "hours": {"low": budget.hours_low, "high": budget.hours_high},
        "durations": {
            version or "model": {
                "low": r.low,
                "high": r.high,
                "source": r.source,
                "samples": r.samples,
            }
            for version, r in budget.durations.items()
        },
    }
    if budget.cost_low is not None:
        data["cost"] = {
            "low": budget.cost_low,
            "high": budget.cost_high,
            "currency": budget.currency,
        }
    return data


def budget_from_json(data: Mapping[str, Any] | None) -> Budget:
    if not data:
        return Budget()
    cost = data.get("cost") or {}
    return Budget(
        start=data["trainings_to_start"],
        replace=data["trainings_to_replace"],
        stop=data["trainings_to_stop"],
        lost=data["completed_models_lost"],
        hours_low=data["hours"]["low"],
        hours_high=data["hours"]["high"],
        durations={
            ("" if version == "model" else version): HoursRange(r["low"], r["high"], r["samples"])
            for version, r in data["durations"].items()
        },
        cost_low=cost.get("low"),
        cost_high=cost.get("high"),
        currency=cost.get("currency"),
    )
