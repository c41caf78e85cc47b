"""Which sample requests to make: per declared model with `spec.samples`, its columns (the current
version when Completed, and the previous Completed version) and one request per sample and column.

Pure over what was read from the account; every request is checked with the generation rules
against the version's own facts (a sample the manifest check accepted may still not suit a
version, e.g. one recreated as max), and a refused one becomes a cell with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.client import ModelRecord, ProjectRecord
from reconciler.generation.paid import request_key
from reconciler.generation.rules import (
    SAMPLE_FIELDS,
    GenerationRefused,
    GenerationRequest,
    check_request,
)
from reconciler.generation.target import ModelVersion, versions_of
from reconciler.manifest.samples import sample_options
from reconciler.state import DesiredState, SamplePrompt


@dataclass(frozen=True)
class Column:
    version: ModelVersion
    role: str  # current | previous

    @property
    def label(self) -> str:
        return self.version.label


@dataclass(frozen=True)
class Cell:
    row: int  # index into ModelSamples.samples
    column: int  # index into ModelSamples.columns
    request: GenerationRequest | None
    key: str | None  # the cache key of `request`
    problem: str | None = None  # why there is no request


@dataclass(frozen=True)
class ModelSamples:
    project: str
    model: str
    samples: tuple[SamplePrompt, ...]
    columns: tuple[Column, ...]
    cells: tuple[Cell, ...]
    note: str | None = None  # e.g. the current version is still training

    def cell(self, row: int, column: int) -> Cell:
        return next(c for c in self.cells if c.row == row and c.column == column)


def pick_columns(versions: Sequence[ModelVersion]) -> tuple[list[Column], str | None]:
    """The current version when Completed, and the newest Completed version before it."""
    if not versions:
        return [], "no version in the account yet (run 'reconciler apply')"
    current, older = versions[0], versions[1:]
    columns: list[Column] = []
    note = None
    if current.record.status == "Completed":
        columns.append(Column(current, "current"))
    else:
        note = f"the current version '{current.label}' is {current.record.status}: not sampled yet"
    previous = next((v for v in older if v.record.status == "Completed"), None)
    if previous is not None:
        columns.append(Column(previous, "previous"))
    return columns, note


def collect_samples(
    desired: DesiredState,
    projects: Mapping[str, ProjectRecord],
    models: Mapping[str, Sequence[ModelRecord]],
) -> list[ModelSamples]:
    """`projects`/`models`: the account's records of the declared projects, by project name."""
    found: list[ModelSamples] = []
    for model in sorted(desired.models, key=lambda m: (m.project, m.name)):
        if model.delete or not model.samples:
            continue
        project = projects.get(model.project)
        if project is None:
            found.append(
                ModelSamples(model.project, model.name, model.samples, (), (),
                             f"project '{model.project}' is not in the account yet")
            )  # fmt: skip
            continue
        versions = versions_of(model.project, model.name, models.get(model.project, ()))
        columns, note = pick_columns(versions)
        cells = [
            _cell(row, index, sample, column, project.ip_medium)
            for row, sample in enumerate(model.samples)
            for index, column in enumerate(columns)
        ]
        found.append(
            ModelSamples(
                model.project, model.name, model.samples, tuple(columns), tuple(cells), note
            )
        )
    return found


def _cell(row: int, index: int, sample: SamplePrompt, column: Column, medium: str) -> Cell:
    version = column.version
    try:
        request = check_request(sample_options(sample), version.facts(medium), {}, SAMPLE_FIELDS)
    except GenerationRefused as refused:
        return Cell(row, index, None, None, str(refused))
    return Cell(row, index, request, request_key(request))
