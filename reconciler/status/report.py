"""The status of the declared resources as plain data: what `status` prints and its JSON.

Pure: the manifests, the records read from the account, the training-time estimates and the
time are passed in. Versions follow `naming` (the highest is current); a superseded model version
still training is listed on its own, since it costs training time nobody may be waiting for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.client import DatasetRecord, ModelRecord, ProjectRecord
from reconciler.naming import parse_versioned_name
from reconciler.state import DesiredState
from reconciler.status.history import Estimate
from reconciler.training_hours import completed_seconds

FORMAT_VERSION = 1
TRAINING_STATUSES = frozenset({"InProgress", "Stopping"})
START_FIELDS = ("training_started_at", "started_at", "training_start_time")
REFERENCE_TRAINING = "1-3 hours"  # the reference: "Training takes 1-3 hours"


@dataclass(frozen=True)
class ProjectReading:
    """What was read for one declared project (record None: not in the account)."""

    name: str
    record: ProjectRecord | None
    datasets: tuple[DatasetRecord, ...] = ()
    models: tuple[ModelRecord, ...] = ()


@dataclass(frozen=True)
class OlderVersion:
    name: str
    id: int
    status: str


@dataclass(frozen=True)
class DatasetStatus:
    name: str  # the manifest's name
    current: str | None  # the current version's remote name; None when not in the account
    version: int | None
    id: int | None
    status: str  # draft | completed | missing
    image_count: int | None
    captions_update_status: str | None
    older_versions: tuple[OlderVersion, ...] = ()


@dataclass(frozen=True)
class Training:
    """Timing of a model version's training."""

    started_at: str | None  # ISO 8601; the model's created_at when Bria gives no start time
    started_from: str | None  # the answer's field it comes from
    elapsed_seconds: float | None  # while training
    expected_seconds: float | None  # median of this account's trainings seen by status
    expected_left_seconds: float | None
    expected_basis: str  # "N trainings of this account" or the reference's "1-3 hours"


@dataclass(frozen=True)
class ModelStatus:
    name: str
    current: str | None
    version: int | None
    id: int | None
    status: str  # Created | InProgress | Completed | Failed | Stopping | Stopped | missing
    training_version: str | None  # light | max; or the training_mode of a current-gen model
    dataset_version: str | None  # the remote name of the dataset it was trained on
    generation_prefix: str | None
    training: Training | None
    older_versions: tuple[OlderVersion, ...] = ()


@dataclass(frozen=True)
class SupersededTraining:
    project: str
    model: str  # manifest name
    version: str  # remote name
    id: int
    status: str
    training: Training


@dataclass(frozen=True)
class ProjectStatus:
    name: str
    id: int | None  # None: not in the account yet
    ip_type: str | None
    ip_medium: str | None
    datasets: tuple[DatasetStatus, ...] = ()
    models: tuple[ModelStatus, ...] = ()


@dataclass(frozen=True)
class StatusReport:
    format_version: int
    generated_at: str
    projects: tuple[ProjectStatus, ...]
    superseded_training: tuple[SupersededTraining, ...] = field(default_factory=tuple)


def parse_time(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


def iso(epoch: float) -> str:
    from datetime import UTC

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def training_start(record: ModelRecord) -> tuple[float | None, str | None]:
    """When training started, as well as the answer says: a start field, else `created_at`
    (apply starts training right after creating the model)."""
    for name in (*START_FIELDS, "created_at"):
        moment = parse_time(record.raw.get(name))
        if moment is not None:
            return moment, name
    return None, None


def account_durations(records: Iterable[ModelRecord]) -> dict[str, list[float]]:
    """training version -> seconds each Completed model of the account took, by the one rule of
    `training_hours.completed_seconds` (created_at to updated_at): the account's own history,
    also on a checkout that never ran `status` before. Empty when the answers carry no
    `updated_at` (the reference's model records do not)."""
    found: dict[str, list[float]] = {}
    for record in records:
        created, updated = record.raw.get("created_at"), record.raw.get("updated_at")
        seconds = completed_seconds(
            record.status,
            created if isinstance(created, str) else None,
            updated if isinstance(updated, str) else None,
        )
        if seconds is not None:
            found.setdefault(record.training_version or record.training_mode or "", []).append(
                seconds
            )
    return found


def _versions(records: Iterable[DatasetRecord | ModelRecord], base: str) -> list[tuple[int, int]]:
    """(version, index into records) of `base`'s versions, newest first; later ids win ties."""
    found: dict[int, tuple[int, int]] = {}
    for index, record in enumerate(records):
        parsed = parse_versioned_name(record.name)
        if parsed is None or parsed.base != base or getattr(record, "status", "") == "Deleted":
            continue
        if parsed.version not in found or record.id > found[parsed.version][1]:
            found[parsed.version] = (index, record.id)
    return [(version, found[version][0]) for version in sorted(found, reverse=True)]


def _older(
    records: Sequence[DatasetRecord | ModelRecord], picks: list[tuple[int, int]]
) -> tuple[OlderVersion, ...]:
    return tuple(
        OlderVersion(records[index].name, records[index].id, records[index].status)
        for _version, index in picks[1:]
    )


def _training(record: ModelRecord, estimate: Estimate, now: float) -> Training | None:
    if record.status in ("Created", "missing"):
        return None
    started, source = training_start(record)
    training = record.status in TRAINING_STATUSES
    elapsed = max(0.0, now - started) if training and started is not None else None
    left = None
    if estimate.seconds is not None and elapsed is not None:
        left = max(0.0, estimate.seconds - elapsed)
    basis = (
        f"{estimate.samples} training{'s' if estimate.samples != 1 else ''} of this account"
        if estimate.seconds is not None
        else f"no training of this account seen yet; the reference says {REFERENCE_TRAINING}"
    )
    return Training(
        started_at=iso(started) if started is not None else None,
        started_from=source,
        elapsed_seconds=round(elapsed, 1) if elapsed is not None else None,
        expected_seconds=round(estimate.seconds, 1) if estimate.seconds is not None else None,
        expected_left_seconds=round(left, 1) if left is not None else None,
        expected_basis=basis,
    )


def build_report(
    desired: DesiredState,
    readings: Sequence[ProjectReading],
    estimate: Callable[[str], Estimate],
    now: float,
) -> StatusReport:
    by_name = {reading.name: reading for reading in readings}
    projects: list[ProjectStatus] = []
    superseded: list[SupersededTraining] = []
    for declared in sorted(desired.projects, key=lambda p: p.name):
        reading = by_name.get(declared.name, ProjectReading(declared.name, None))
        record = reading.record
        dataset_names = {d.id: d.name for d in reading.datasets}
        datasets = tuple(
            _dataset_status(d.name, reading.datasets)
            for d in sorted(desired.datasets, key=lambda d: d.name)
            if d.project == declared.name
        )
        models: list[ModelStatus] = []
        for wanted in sorted(desired.models, key=lambda m: m.name):
            if wanted.project != declared.name:
                continue
            status, old_training = _model_status(
                wanted.name, reading.models, dataset_names, estimate, now
            )
            models.append(status)
            superseded.extend(
                SupersededTraining(declared.name, wanted.name, r.name, r.id, r.status, t)
                for r, t in old_training
            )
        projects.append(
            ProjectStatus(
                name=declared.name,
                id=record.id if record else None,
                ip_type=record.ip_type if record else None,
                ip_medium=record.ip_medium if record else None,
                datasets=datasets,
                models=tuple(models),
            )
        )
    return StatusReport(FORMAT_VERSION, iso(now), tuple(projects), tuple(superseded))


def _dataset_status(name: str, records: Sequence[DatasetRecord]) -> DatasetStatus:
    picks = _versions(records, name)
    if not picks:
        return DatasetStatus(name, None, None, None, "missing", None, None)
    version, index = picks[0]
    current = records[index]
    count = current.images_count
    if count is None and current.images is not None:
        count = len(current.images)
    return DatasetStatus(
        name=name,
        current=current.name,
        version=version,
        id=current.id,
        status=current.status,
        image_count=count,
        captions_update_status=current.captions_update_status,
        older_versions=_older(records, picks),
    )


def _model_status(
    name: str,
    records: Sequence[ModelRecord],
    dataset_names: dict[int, str],
    estimate: Callable[[str], Estimate],
    now: float,
) -> tuple[ModelStatus, list[tuple[ModelRecord, Training]]]:
    picks = _versions(records, name)
    if not picks:
        return ModelStatus(name, None, None, None, "missing", None, None, None, None), []
    version, index = picks[0]
    current = records[index]
    kind = current.training_version or current.training_mode or ""
    old_training: list[tuple[ModelRecord, Training]] = []
    for _version, old_index in picks[1:]:
        old = records[old_index]
        if old.status in TRAINING_STATUSES:
            timing = _training(old, estimate(old.training_version or ""), now)
            assert timing is not None
            old_training.append((old, timing))
    status = ModelStatus(
        name=name,
        current=current.name,
        version=version,
        id=current.id,
        status=current.status,
        training_version=kind or None,
        dataset_version=dataset_names.get(current.dataset_id) if current.dataset_id else None,
        generation_prefix=current.generation_prefix,
        training=_training(current, estimate(kind), now),
        older_versions=_older(records, picks),
    )
    return status, old_training
