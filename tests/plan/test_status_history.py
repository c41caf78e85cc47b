"""Pure: the training durations `status` learns from what it has seen, and the estimates."""

from __future__ import annotations

from pathlib import Path

from reconciler.status.history import Sighting, TrainingHistory


def _seen(history: TrainingHistory, status: str, at: float, model: int = 1) -> None:
    history.record([Sighting(model, status, 1000.0, "light")], at)


def test_a_completion_seen_soon_after_training_counts(tmp_path: Path) -> None:
    history = TrainingHistory(tmp_path / "h.json", "https://x/v1")
    _seen(history, "InProgress", 1000.0 + 3500)
    _seen(history, "Completed", 1000.0 + 3600)
    assert history.durations() == [3600.0]
    assert history.estimate("light").seconds == 3600.0
    assert history.estimate("max").seconds == 3600.0  # no max training yet: all versions
    history.save()
    again = TrainingHistory(tmp_path / "h.json", "https://x/v1")
    assert again.durations() == [3600.0]
    assert TrainingHistory(tmp_path / "h.json", "https://other/v1").durations() == []


def test_a_completion_seen_a_day_later_does_not_count(tmp_path: Path) -> None:
    history = TrainingHistory(tmp_path / "h.json", "u")
    _seen(history, "InProgress", 1000.0 + 600)
    _seen(history, "Completed", 1000.0 + 86_400)
    assert history.durations() == []
    assert history.estimate("light").seconds is None


def test_never_seen_training_does_not_count_and_a_broken_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text("{not json")
    history = TrainingHistory(path, "u")
    _seen(history, "Completed", 5000.0)
    assert history.durations() == []


def test_median_of_several(tmp_path: Path) -> None:
    history = TrainingHistory(tmp_path / "h.json", "u")
    for model, duration in ((1, 3000.0), (2, 4000.0), (3, 9000.0)):
        _seen(history, "InProgress", 1000.0 + duration - 30, model)
        _seen(history, "Completed", 1000.0 + duration, model)
    estimate = history.estimate("light")
    assert (estimate.seconds, estimate.samples) == (4000.0, 3)
