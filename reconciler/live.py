"""Read the account into a `LiveState` with the fewest calls the API allows.

State lives in Bria, so every plan starts here. A no-change plan costs one list of projects, one
list of datasets (with their models) per declared project and one list of images per declared
dataset's current version; images are never downloaded. What to read is a `ReadScope`, derived
from the manifests (`scope_from_desired`), so that `apply --plan` can repeat exactly the same reads
and compare fingerprints.

Rename drift needs the images of datasets whose names the manifests do not declare; those are
listed only when some declared dataset has no live version at all, so a no-change plan does not
pay for them. Likewise, only when a declared project is missing (created by this plan, or renamed
in the console) are the datasets of undeclared projects read, so a renamed project is recognised.

The answers are checked against each other before anything is planned (`answer_checks`): one
id in two lists, or an image list that disagrees with its dataset's `images_count`, stops the run
naming the calls. A record with a value the client does not know (a new `ip_type`, a new status)
stops it only when the manifests declare that resource; any other is left out with one warning.
A dataset whose caption regeneration is still running is waited for (bounded, shown) before its
images are read, since its captions are about to change (`wait_for_caption_jobs`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from reconciler.answer_checks import AnswerChecks, Warn, is_declared
from reconciler.client import BriaClient, DatasetRecord, ImageRecord, ModelRecord, ProjectRecord
from reconciler.client.records import RecordList, SkippedRecord
from reconciler.client.retry_policy import Backoff
from reconciler.errors import ReconcilerError
from reconciler.naming import parse_versioned_name
from reconciler.read_scope import ReadScope, fingerprint, scope_from_desired
from reconciler.state import (
    DesiredState,
    LiveDataset,
    LiveImage,
    LiveModel,
    LiveProject,
    LiveState,
    ModelStatus,
)

READ_PARALLELISM = 8
CAPTION_JOB_WAIT_ENV = "RECONCILER_CAPTION_JOB_WAIT"
DEFAULT_CAPTION_JOB_WAIT = 300.0
_Record = TypeVar("_Record", ImageRecord, ModelRecord)


class DatasetsWithModels(RecordList[tuple[DatasetRecord, tuple[ModelRecord, ...]]]):
    """A project's datasets with their models; `skipped` holds the datasets and
    `skipped_models` the (call path, model) pairs a lenient read left out."""

    skipped_models: tuple[tuple[str, SkippedRecord], ...] = ()


class CaptionJobRunning(ReconcilerError):
    """A dataset's caption regeneration is still running after the bounded wait."""


def read_live_state(
    client: BriaClient, desired: DesiredState, *, warn: Warn | None = None
) -> LiveState:
    """The live account as far as the manifests need it (see the module docstring)."""
    return read_live_scope(client, scope_from_desired(desired), warn=warn)


def read_live_scope(client: BriaClient, scope: ReadScope, *, warn: Warn | None = None) -> LiveState:
    """Read the projects of `scope`, and images of the datasets it needs (module docstring).
    `warn` gets one line per record left out (default: stderr)."""
    checks = AnswerChecks(warn)
    listed_projects = client.list_projects(lenient=True)
    checks.skipped_projects(listed_projects.skipped, scope.projects)
    projects = sorted(listed_projects, key=lambda p: p.id)
    declared = [p for p in projects if p.project_name in scope.projects]
    # A declared project that is missing may have been renamed in the console: then the
    # undeclared projects are read too, so the planner can recognise it by its contents.
    missing = scope.projects - {p.project_name for p in projects}
    candidates = [p for p in projects if p.project_name not in scope.projects] if missing else []
    missing_bases = frozenset(
        base for name in missing for base in scope.dataset_bases.get(name, frozenset())
    )
    with ThreadPoolExecutor(max_workers=READ_PARALLELISM) as pool:
        read = declared + candidates
        datasets_by_project = dict(
            zip(
                [p.id for p in read],
                pool.map(lambda p: read_project_datasets(client, p.id, lenient=True), read),
                strict=True,
            )
        )
        wanted: list[DatasetRecord] = []
        for project in read:
            declared_bases = scope.dataset_bases.get(project.project_name)
            bases = missing_bases if declared_bases is None else declared_bases
            listed = _unread_with_their_models(
                datasets_by_project[project.id], declared_bases or frozenset()
            )
            datasets_by_project[project.id] = listed
            checks.skipped_datasets(project.id, listed.skipped, declared_bases or frozenset())
            declared_models = scope.models.get(project.project_name, frozenset())
            for path, model in listed.skipped_models:
                checks.skipped_model(path, model, declared_models)
            wanted.extend(_datasets_needing_images(listed, bases))
        checks.one_home_per_id(datasets_by_project)
        settled = wait_for_caption_jobs(client, wanted)
        if settled:
            wanted = [settled.get(d.id, d) for d in wanted]
            datasets_by_project = {
                project_id: _with_records(listed, settled)
                for project_id, listed in datasets_by_project.items()
            }
        images_by_dataset = dict(
            zip(
                [d.id for d in wanted],
                pool.map(lambda d: client.list_images(d.id), wanted),
                strict=True,
            )
        )
    checks.image_counts(wanted, images_by_dataset)
    live_projects: list[LiveProject] = []
    for project in projects:
        if project.id not in datasets_by_project:
            live_projects.append(_live_project(project, None))
            continue
        live_datasets = tuple(
            _live_dataset(record, models, images_by_dataset.get(record.id))
            for record, models in datasets_by_project[project.id]
        )
        live_projects.append(_live_project(project, live_datasets))
    return LiveState(projects=tuple(live_projects))


def wait_for_caption_jobs(
    client: BriaClient, datasets: list[DatasetRecord], *, limit: float | None = None
) -> dict[int, DatasetRecord]:
    """Fresh records of the datasets whose Regenerate All Captions is still running, once it
    has ended: until then their captions are about to be overwritten, so comparing them would
    plan on captions that are already gone. Bounded (`RECONCILER_CAPTION_JOB_WAIT`, default
    300 s) and shown on stderr; still running after that stops the run."""
    running = [d for d in datasets if d.captions_update_status == "in_progress"]
    if not running:
        return {}
    bound = limit if limit is not None else caption_job_wait()
    deadline = time.monotonic() + bound
    settled: dict[int, DatasetRecord] = {}
    for record in running:
        print(
            f"waiting: dataset '{record.name}' is regenerating its captions "
            f"(captions_update_status in_progress); the plan compares them once it is done "
            f"(at most {bound:g} s)",
            file=sys.stderr,
        )
        pauses = Backoff(base=0.2, cap=5.0, jitter=False).pauses()
        fresh = record
        while fresh.captions_update_status == "in_progress":
            if time.monotonic() >= deadline:
                raise CaptionJobRunning(
                    f"dataset '{record.name}' (id {record.id}) is still regenerating its captions "
                    f"after {bound:g} s (captions_update_status in_progress), so its captions "
                    "cannot be compared yet: run plan again once the job is done (or raise "
                    f"{CAPTION_JOB_WAIT_ENV})"
                )
            time.sleep(min(next(pauses), max(0.0, deadline - time.monotonic())))
            fresh = client.get_dataset(record.id)
        settled[record.id] = dataclasses.replace(
            record,
            captions_update_status=fresh.captions_update_status,
            caption_prefix=fresh.caption_prefix,
            status=fresh.status,
            images_count=fresh.images_count,
        )
    return settled


def caption_job_wait() -> float:
    raw = os.environ.get(CAPTION_JOB_WAIT_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_CAPTION_JOB_WAIT
    except ValueError:
        raise CaptionJobRunning(
            f"{CAPTION_JOB_WAIT_ENV} '{raw}' is not a number of seconds; set it to e.g. 300"
        ) from None


def _unread_with_their_models(
    listed: DatasetsWithModels, declared_bases: frozenset[str]
) -> DatasetsWithModels:
    """A dataset no manifest declares whose model could not be read is left out whole, as if
    the dataset itself could not be read (pruning it could hit a model still training); the
    models left out of declared datasets stay in `skipped_models` for `AnswerChecks`."""
    unread = {model.dataset_id: model for _path, model in listed.skipped_models}
    undeclared = {
        record.id
        for record, _models in listed
        if record.id in unread and not is_declared(record.name, declared_bases)
    }
    if not undeclared:
        return listed
    result = DatasetsWithModels((r, m) for r, m in listed if r.id not in undeclared)
    left_out = tuple(
        SkippedRecord(id=r.id, name=r.name, problem=unread[r.id].problem)
        for r, _models in listed
        if r.id in undeclared
    )
    result.skipped = (*listed.skipped, *left_out)
    result.skipped_models = tuple(
        (path, model) for path, model in listed.skipped_models if model.dataset_id not in undeclared
    )
    return result


def _with_records(
    listed: DatasetsWithModels, fresh: dict[int, DatasetRecord]
) -> DatasetsWithModels:
    result = DatasetsWithModels((fresh.get(r.id, r), models) for r, models in listed)
    result.skipped, result.skipped_models = listed.skipped, listed.skipped_models
    return result


def read_project_datasets(
    client: BriaClient, project_id: int, *, lenient: bool = False
) -> DatasetsWithModels:
    """The project's datasets with their models; one call unless the answer omits `models`.
    `lenient`: datasets with an unknown enum value are left out into `.skipped`, models with
    one into `.skipped_models`."""
    listed = client.list_project_datasets(project_id, include_models=True, lenient=lenient)
    records = sorted(listed, key=lambda d: d.id)
    result = DatasetsWithModels()
    result.skipped = listed.skipped
    if any(record.models is None or _lacks_training(record.models) for record in records):
        # The API did not embed the models (or embedded current-generation models without
        # their training parameters, which only the model lists give when asked): one list
        # per project, never a guess.
        by_dataset: dict[int | None, list[ModelRecord]] = {}
        models = client.list_project_models(project_id, lenient=lenient)
        for model in models:
            by_dataset.setdefault(model.dataset_id, []).append(model)
        result.extend((r, tuple(by_dataset.get(r.id, ()))) for r in records)
        path = f"/tailored-gen/projects/{project_id}/models"
        result.skipped_models = tuple((path, skipped) for skipped in models.skipped)
    else:
        result.extend((r, tuple(r.models or ())) for r in records)
        path = f"/tailored-gen/projects/{project_id}/datasets"
        result.skipped_models = tuple(
            (path, dataclasses.replace(skipped, dataset_id=record.id))
            for record in records
            for skipped in record.skipped_models
        )
    return result


def _lacks_training(models: Iterable[ModelRecord]) -> bool:
    """Embedded models may leave training details out: a model with neither training_version
    nor training_mode, or an expert model without `training_parameters`."""
    return any(
        (m.training_mode == "expert" and m.training_parameters is None)
        or (not m.training_version and m.training_mode is None)
        for m in models
    )


def _datasets_needing_images(
    datasets: list[tuple[DatasetRecord, tuple[ModelRecord, ...]]], bases: frozenset[str]
) -> list[DatasetRecord]:
    wanted = _wanted_ids([(record.id, record.name) for record, _models in datasets], bases)
    return [record for record, _models in datasets if record.id in wanted]


def _wanted_ids(datasets: list[tuple[int, str]], bases: frozenset[str]) -> set[int]:
    """The current (highest) version of each declared base; rename candidates when needed."""
    current: dict[str, tuple[int, int]] = {}
    undeclared: list[int] = []
    for dataset_id, name in datasets:
        parsed = parse_versioned_name(name)
        if parsed is None or parsed.base not in bases:
            undeclared.append(dataset_id)
            continue
        best = current.get(parsed.base)
        # ties (`name` and `name~1`) go to the later id, as in the planner's index
        if best is None or parsed.version >= best[0]:
            current[parsed.base] = (parsed.version, dataset_id)
    wanted = {dataset_id for _version, dataset_id in current.values()}
    if any(base not in current for base in bases):
        wanted.update(undeclared)  # could be a declared dataset renamed in the console
    return wanted


def _live_project(record: ProjectRecord, datasets: tuple[LiveDataset, ...] | None) -> LiveProject:
    return LiveProject(
        id=record.id,
        project_name=record.project_name,
        ip_type=record.ip_type,
        ip_medium=record.ip_medium,
        project_description=record.project_description,
        ip_name=record.ip_name,
        ip_description=record.ip_description,
        datasets=datasets,
        training_version=record.training_version,
    )


def _live_dataset(
    record: DatasetRecord,
    models: Iterable[ModelRecord],
    images: list[ImageRecord] | None,
) -> LiveDataset:
    return LiveDataset(
        id=record.id,
        project_id=record.project_id,
        name=record.name,
        status=record.status,
        caption_prefix=record.caption_prefix,
        captions_update_status=record.captions_update_status,
        images=None if images is None else tuple(live_image(i) for i in _by_id(images)),
        models=tuple(live_model(m) for m in _by_id(models) if m.status != ModelStatus.DELETED),
        visual_schema=record.visual_schema,
        upload_type=record.upload_type,
        caption_prefix_answered="caption_prefix" in record.raw,
    )


def live_image(record: ImageRecord) -> LiveImage:
    """The caption without surrounding whitespace (a console text box keeps a final newline):
    a manifest's captions are stripped, so that whitespace is never a difference."""
    return LiveImage(
        id=record.id,
        image_name=record.image_name or "",
        caption=record.caption.strip() if record.caption is not None else None,
        caption_source=record.caption_source,
    )


def live_model(record: ModelRecord) -> LiveModel:
    return LiveModel(
        id=record.id,
        name=record.name,
        dataset_id=record.dataset_id,
        training_version=(record.training_version or "").lower(),
        status=record.status,
        description=record.description,
        training_mode=record.training_mode,
        training_parameters=(
            None
            if record.training_parameters is None
            else tuple(sorted(record.training_parameters.as_dict().items()))
        ),
        active_model_version=record.active_model_version,
        checkpoint_steps=record.checkpoint_steps,
        created_at=_timestamp(record.raw.get("created_at")),
        updated_at=_timestamp(record.raw.get("updated_at")),
    )


def _timestamp(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _by_id(records: Iterable[_Record]) -> list[_Record]:
    return sorted(records, key=lambda r: r.id)


def read_for_saved_plan(
    client: BriaClient, scope: ReadScope, expected_fingerprint: str
) -> LiveState | None:
    """The live state read exactly as when a saved plan was made (the scope it recorded), or
    None when its fingerprint differs: the account changed since and the plan is stale."""
    state = read_live_scope(client, scope)
    return state if fingerprint(state) == expected_fingerprint else None
