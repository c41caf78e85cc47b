"""Which model id to call: a declared model's versions in the account, newest first.

A model is versioned by name (`lora-light`, `lora-light~2`, ... see `naming`): the highest
version is the current one, the one `plan` and `apply` manage; older versions stay until pruned.
`generate` uses the current version, `samples` the current and the previous Completed one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.client import BriaClient, ModelRecord, ProjectRecord
from reconciler.errors import ReconcilerError
from reconciler.generation.rules import ModelFacts
from reconciler.naming import parse_versioned_name
from reconciler.state import DesiredState


class ModelNotFound(ReconcilerError):
    """The model is not declared, or has no version in the account yet."""


@dataclass(frozen=True)
class ModelVersion:
    project: str
    base: str  # the manifest's model name
    version: int
    record: ModelRecord

    @property
    def label(self) -> str:
        """`lora/lora-light~2` (version 1 too: `lora/lora-light~1`), as output folders are named."""
        return f"{self.project}/{self.base}~{self.version}"

    def facts(self, ip_medium: str) -> ModelFacts:
        return ModelFacts(
            label=self.label,
            model_id=self.record.id,
            status=self.record.status,
            training_version=self.record.training_version,
            ip_medium=ip_medium,
            generation="current" if self.record.generation == "current" else "reference",
        )


def versions_of(project: str, base: str, models: Iterable[ModelRecord]) -> list[ModelVersion]:
    """The versions of model `base` among `models` (Deleted ones left out), newest first."""
    found: dict[int, ModelVersion] = {}
    for record in sorted(models, key=lambda m: m.id):
        parsed = parse_versioned_name(record.name)
        if record.status == "Deleted" or parsed is None or parsed.base != base:
            continue
        found[parsed.version] = ModelVersion(project, base, parsed.version, record)  # later id wins
    return [found[version] for version in sorted(found, reverse=True)]


def split_address(address: str) -> tuple[str, str]:
    """`PROJECT/MODEL` -> (project, model)."""
    project, slash, model = address.partition("/")
    if not slash or not project or not model or "/" in model:
        raise ModelNotFound(
            f"'{address}' is not PROJECT/MODEL: name the model as its manifest does, e.g. "
            "'lora/lora-light'"
        )
    return project, model


def require_declared(desired: DesiredState, project: str, model: str) -> None:
    declared = [m for m in desired.models if m.project == project and not m.delete]
    if any(m.name == model for m in declared):
        return
    names = ", ".join(sorted(f"'{m.project}/{m.name}'" for m in desired.models if not m.delete))
    raise ModelNotFound(
        f"model '{project}/{model}' is not declared in the manifests read "
        f"({'declared: ' + names if names else 'they declare no model'}); "
        "pass the folder holding its manifest"
    )


def find_project(client: BriaClient, project: str) -> ProjectRecord:
    for record in sorted(client.list_projects(lenient=True), key=lambda p: p.id):
        if record.project_name == project:
            return record
    raise ModelNotFound(
        f"project '{project}' does not exist in the account yet: run 'reconciler apply' first"
    )


def find_versions(client: BriaClient, project: ProjectRecord, model: str) -> list[ModelVersion]:
    versions = versions_of(
        project.project_name, model, client.list_project_models(project.id, lenient=True)
    )
    if not versions:
        raise ModelNotFound(
            f"model '{project.project_name}/{model}' has no version in the account yet: "
            "run 'reconciler apply' to create and train it"
        )
    return versions
