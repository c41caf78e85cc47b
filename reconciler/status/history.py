"""The training durations of this account, as seen by `status`: the basis of "expected time left".

Bria's model answers carry only `created_at`, no start or end of training. So each `status` run
records, per model id, when it first saw the model training, when it last saw it training and
when it first saw it Completed; a duration counts once the completion was seen soon after the
last sighting in training (within a quarter of the duration, or a minute), so a status run a day
later does not make a one-hour training look like a day. Kept in `.reconciler/training-history.json`
per API URL; a local cache, never the account's state. It is the fallback: where the account's
answers carry `updated_at`, its own Completed models are the history (`estimate_from` over
`report.account_durations`, by `training_hours.completed_seconds`, the plan budget's rule), also
on a fresh CI checkout; the reference's model records carry only `created_at`, so against them
these sightings are all there is.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HISTORY_FILE = "training-history.json"
TRAINING = frozenset({"InProgress"})
MIN_GAP = 60.0


@dataclass(frozen=True)
class Sighting:
    """One model as one status run saw it."""

    model_id: int
    status: str
    started_at: float | None  # best known start of training (epoch seconds)
    training_version: str


@dataclass(frozen=True)
class Estimate:
    seconds: float | None  # expected total duration; None without history
    samples: int  # how many finished trainings it is based on


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class TrainingHistory:
    """The recorded sightings of one API URL's models."""

    def __init__(self, path: Path, api_url: str) -> None:
        self.path = path
        self.api_url = api_url
        self._all = _load(path)
        models = self._all.get(api_url)
        self._models: dict[str, dict[str, Any]] = models if isinstance(models, dict) else {}

    def record(self, sightings: Iterable[Sighting], now: float) -> None:
        for seen in sightings:
            entry = self._models.setdefault(str(seen.model_id), {})
            entry["training_version"] = seen.training_version
            if seen.started_at is not None:
                entry.setdefault("started_at", seen.started_at)
            if seen.status in TRAINING:
                entry.setdefault("first_training_seen_at", now)
                entry["last_training_seen_at"] = now
            elif seen.status == "Completed":
                entry.setdefault("completed_seen_at", now)

    def save(self) -> None:
        self._all[self.api_url] = self._models
        text = json.dumps(self._all, indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, self.path)  # two status runs at once never leave half a file
        except OSError:
            pass  # a cache: status still works without it

    def durations(self, training_version: str | None = None) -> list[float]:
        """Finished trainings whose end was seen closely enough to count (module docstring)."""
        found: list[float] = []
        for entry in self._models.values():
            if training_version and entry.get("training_version") != training_version:
                continue
            duration = _duration(entry)
            if duration is not None:
                found.append(duration)
        return found

    def estimate(self, training_version: str) -> Estimate:
        """The median duration of this training version's trainings (all versions' when this
        one has none yet)."""
        durations = self.durations(training_version) or self.durations()
        if not durations:
            return Estimate(None, 0)
        return Estimate(statistics.median(durations), len(durations))


def _duration(entry: Mapping[str, Any]) -> float | None:
    started = entry.get("started_at")
    last_training = entry.get("last_training_seen_at")
    completed = entry.get("completed_seen_at")
    if not all(isinstance(v, int | float) for v in (started, last_training, completed)):
        return None
    assert isinstance(started, int | float)
    assert isinstance(last_training, int | float) and isinstance(completed, int | float)
    duration = float(completed - started)
    gap = float(completed - last_training)
    if duration <= 0 or gap < 0 or gap > max(MIN_GAP, duration / 4):
        return None
    return duration


def estimate_from(durations: Mapping[str, Iterable[float]], training_version: str) -> Estimate:
    """The median of this training version's durations (all versions' when it has none)."""
    found = list(durations.get(training_version, ()))
    if not found:
        found = [seconds for values in durations.values() for seconds in values]
    if not found:
        return Estimate(None, 0)
    return Estimate(statistics.median(found), len(found))
