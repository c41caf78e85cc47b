"""How long a training takes, from the account's own history, else the reference's 1-3 hours.

Bria says nothing of a training's length but the reference: "1-3 hours". An account that has
trained before knows better: each Completed model's `created_at` to `updated_at` is one training
(creation, then the last change: its completion), so the spread of those per `training_version`
is the range a new training of that version will likely take. Pure, over the live state; the
plan's budget (`reconciler.budget`) and the superseded-training notes of the diff use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from reconciler.state import LiveModel, LiveState, ModelStatus

REFERENCE_HOURS = (1.0, 3.0)  # "training takes 1-3 hours"


@dataclass(frozen=True)
class HoursRange:
    low: float
    high: float
    samples: int  # Completed trainings it is based on; 0 = the reference's range

    @property
    def source(self) -> str:
        return "history" if self.samples else "reference"


REFERENCE = HoursRange(*REFERENCE_HOURS, samples=0)
#: The published OpenAPI (current generation, training_mode) says both "typically 2-4 hours"
#: (Start Training) and "typically takes 4-6 hours" (its overview): the range covers both.
CURRENT_GENERATION = HoursRange(2.0, 6.0, samples=0)
CURRENT_MODES = frozenset({"fully_automated", "expert"})


def epoch(stamp: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time (`2024-05-26T12:00:00Z`), None if unreadable."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def completed_seconds(status: str, created_at: str | None, updated_at: str | None) -> float | None:
    """How long a model with this status and these timestamps took to train: `created_at` to
    `updated_at` of a Completed one (None when they do not say). The one rule; `status` applies
    it to the records it reads."""
    start, end = epoch(created_at), epoch(updated_at)
    if status != ModelStatus.COMPLETED or start is None or end is None or end <= start:
        return None
    return end - start


def training_seconds(model: LiveModel) -> float | None:
    """How long a Completed model took, from its timestamps (None when they do not say)."""
    return completed_seconds(model.status, model.created_at, model.updated_at)


def training_hours(live: LiveState) -> Mapping[str, HoursRange]:
    """training_version -> the range of its Completed trainings in this account (versions with
    none are absent: use `hours_for`)."""
    seen: dict[str, list[float]] = {}
    for project in live.projects:
        for dataset in project.datasets or ():
            for model in dataset.models:
                seconds = training_seconds(model)
                if seconds is not None:
                    key = model.training_kind
                    seen.setdefault(key, []).append(seconds / 3600)
    return {
        version: HoursRange(round(min(hours), 2), round(max(hours), 2), len(hours))
        for version, hours in sorted(seen.items())
    }


def hours_for(history: Mapping[str, HoursRange], training_version: str) -> HoursRange:
    """The account's own range for this training_version (or training_mode), else the
    documented one: the reference's 1-3 h for light/max, the published OpenAPI's for the
    current generation's training modes."""
    default = CURRENT_GENERATION if training_version in CURRENT_MODES else REFERENCE
    return history.get(training_version, default)


def hours_text(hours: float) -> str:
    """`3 h`, `1.5 h`, `20 min`."""
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    return f"{hours:.1f}".rstrip("0").rstrip(".") + " h"


def time_left(model: LiveModel, expected: HoursRange, now: float | None) -> str:
    """`~1.5 h left` from the model's start and the expected range, else `up to 3 h left`."""
    start = epoch(model.created_at)
    if now is None or start is None:
        return f"up to {hours_text(expected.high)} left"
    left = max(0.0, expected.high - (now - start) / 3600)
    return f"~{hours_text(left)} left"
