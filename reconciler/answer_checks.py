"""Whether Bria's answers can be believed together, checked before anything is planned.

Each answer is read strictly on its own (`client.records`); these checks are about several
answers at once, and about records the client could not read. Believing a contradiction means
acting on the wrong thing: a dataset that two projects list would be written into (or pruned
from) the wrong one, and an image list emptier than the dataset's own `images_count` would
plan re-uploading every image and retraining every model. So a contradiction stops the run with
one line naming the calls, before any write.

A record with a value the client does not know (a new `ip_type`, a new status) is another
matter: if no manifest declares it, the plan never acts on it, so it is left out with one
warning; if a manifest does, planning without it could create a twin, so the run stops.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence

from reconciler.client import DatasetRecord, ImageRecord, MalformedResponse, ModelRecord
from reconciler.client.records import SkippedRecord
from reconciler.errors import ReconcilerError
from reconciler.naming import parse_versioned_name
from reconciler.secrets import redact

Warn = Callable[[str], None]
PROJECTS_PATH = "/tailored-gen/projects"
_AGAIN = (
    "the answers contradict each other, so nothing was changed; run again, and report it to "
    "Bria if it persists"
)


class ContradictoryAnswers(ReconcilerError):
    """Two answers (or two records of one answer) that cannot both be true."""


def _datasets_path(project_id: int) -> str:
    return f"/tailored-gen/projects/{project_id}/datasets"


def _images_path(dataset_id: int) -> str:
    return f"/tailored-gen/datasets/{dataset_id}/images"


def _stderr(line: str) -> None:
    print(redact(f"warning: {line}"), file=sys.stderr)


class AnswerChecks:
    """The checks of one read of the account; `warn` gets one line per record left out."""

    def __init__(self, warn: Warn | None = None) -> None:
        self._warn = warn or _stderr

    def skipped_projects(self, skipped: Sequence[SkippedRecord], declared: Iterable[str]) -> None:
        names = set(declared)
        for record in skipped:
            self._strict_or_warn(
                PROJECTS_PATH, "project", record, record.name is None or record.name in names
            )

    def skipped_datasets(
        self, project_id: int, skipped: Sequence[SkippedRecord], declared_bases: Iterable[str]
    ) -> None:
        bases = frozenset(declared_bases)
        for record in skipped:
            declared = is_declared(record.name, bases)
            self._strict_or_warn(_datasets_path(project_id), "dataset", record, declared)

    def skipped_model(self, path: str, record: SkippedRecord, declared: Iterable[str]) -> None:
        """A model left out of a dataset or model list (an unknown status, say): strict when a
        manifest declares a model of that name (any version) in the project."""
        self._strict_or_warn(path, "model", record, is_declared(record.name, declared))

    def _strict_or_warn(self, path: str, kind: str, record: SkippedRecord, declared: bool) -> None:
        if declared:
            raise MalformedResponse("GET", path, None, record.problem)
        name = f"'{record.name}'" if record.name is not None else "(no name)"
        ident = f" (id {record.id})" if record.id is not None else ""
        self._warn(
            f"GET {path}: skipped {kind} {name}{ident}, which no manifest declares: "
            f"{record.problem}"
        )

    def one_home_per_id(
        self,
        datasets_by_project: Mapping[int, Sequence[tuple[DatasetRecord, tuple[ModelRecord, ...]]]],
    ) -> None:
        """No dataset listed by two projects, no model listed under two datasets."""
        dataset_home: dict[int, int] = {}
        model_home: dict[int, tuple[int, int]] = {}
        for project_id, listed in sorted(datasets_by_project.items()):
            for record, models in listed:
                other = dataset_home.setdefault(record.id, project_id)
                if other != project_id:
                    raise ContradictoryAnswers(
                        f"GET {_datasets_path(project_id)}: lists dataset '{record.name}' "
                        f"(id {record.id}), which GET {_datasets_path(other)} lists too; {_AGAIN}"
                    )
                for model in models:
                    home = model_home.setdefault(model.id, (project_id, record.id))
                    if home != (project_id, record.id):
                        raise ContradictoryAnswers(
                            f"GET {_datasets_path(project_id)}: lists model '{model.name}' "
                            f"(id {model.id}) under dataset {record.id} and under dataset "
                            f"{home[1]}; {_AGAIN}"
                        )

    def image_counts(
        self,
        datasets: Sequence[DatasetRecord],
        images_by_dataset: Mapping[int, Sequence[ImageRecord]],
    ) -> None:
        """An image list must hold as many images as the dataset's `images_count` says."""
        for record in datasets:
            images = images_by_dataset.get(record.id)
            if images is None or record.images_count is None:
                continue
            if len(images) != record.images_count:
                raise ContradictoryAnswers(
                    f"GET {_images_path(record.id)}: lists {len(images)} images, but GET "
                    f"{_datasets_path(record.project_id)} says dataset '{record.name}' has "
                    f"{record.images_count} (images_count); {_AGAIN}"
                )


def is_declared(name: str | None, bases: Iterable[str]) -> bool:
    """Whether a manifest declares this resource name (any version of its base name); a name
    that is missing or not a versioned one counts as declared (strict is the safe side)."""
    parsed = parse_versioned_name(name) if name is not None else None
    return parsed is None or parsed.base in bases
