"""Checks resources against each other: unique names, references that resolve, deletions that
do not leave something behind that still needs them.

Runs after every document has been read, so a reference may point into any file; file order
never matters because every lookup is by name and every report is sorted afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from reconciler.manifest.diagnostics import DiagnosticSink, did_you_mean, quote
from reconciler.manifest.documents import Resource, name_problem
from reconciler.manifest.generations import (
    check_dataset_generation,
    check_model_generation,
    check_project_lock,
)
from reconciler.manifest.rules import (
    check_caption_prefix,
    check_model_medium,
    check_project_rules,
)


@dataclass
class Catalog:
    """The declared resources by name; the first declaration wins when a name repeats."""

    projects: dict[str, Resource] = field(default_factory=dict)
    datasets: dict[tuple[str, str], Resource] = field(default_factory=dict)
    models: dict[tuple[str, str], Resource] = field(default_factory=dict)

    def models_using(self, dataset: Resource) -> list[Resource]:
        """The models (not marked delete) trained on `dataset`."""
        return [
            m
            for m in self.models.values()
            if m.project == dataset.project and m.text("dataset") == dataset.name and not m.delete
        ]


def build_catalog(
    resources: list[Resource], sink: DiagnosticSink, *, check_references: bool = True
) -> Catalog:
    """Index `resources`, reporting duplicates, dangling references and deletion conflicts.

    `check_references=False` skips "no manifest declares" errors: when a file could not be
    parsed, its declarations are unknown and such errors would mostly be noise.
    """
    catalog = Catalog()
    groups: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
    for resource in resources:
        scope = "" if resource.kind == "Project" else resource.project
        groups[(resource.kind, scope, resource.name)].append(resource)
    for (kind, scope, name), declared in groups.items():
        declared.sort(key=lambda r: (r.document.file, r.document.start.line))
        if len(declared) > 1:
            _report_duplicates(declared, sink)
        first = declared[0]
        if kind == "Project":
            catalog.projects[name] = first
        elif kind == "Dataset":
            catalog.datasets[(scope, name)] = first
        else:
            catalog.models[(scope, name)] = first

    for project in catalog.projects.values():
        if project.document.clean and not project.delete:
            check_project_rules(project, sink)
    for dataset in catalog.datasets.values():
        if not dataset.delete:
            check_caption_prefix(dataset, sink)
    for child in (*catalog.datasets.values(), *catalog.models.values()):
        owner = catalog.projects.get(child.project)
        if owner is None:
            if check_references:
                child.error(
                    sink,
                    ("metadata", "project"),
                    f"{child.subject} refers to project {quote(child.project)}, which no manifest "
                    f"declares{did_you_mean(child.project, catalog.projects)}",
                )
            continue
        if owner.delete and not child.delete:
            child.error(
                sink,
                ("metadata", "project"),
                f"{child.subject} belongs to {owner.subject}, which is marked for deletion; "
                "mark it 'delete: true' too, or keep the project",
            )
    for model in catalog.models.values():
        _check_model_dataset(model, catalog, sink, check_references)
        check_model_generation(model, sink)
    for dataset in catalog.datasets.values():
        check_dataset_generation(dataset, catalog.models_using(dataset), sink)
    for project in catalog.projects.values():
        check_project_lock(
            project, [m for m in catalog.models.values() if m.project == project.name], sink
        )
    return catalog


def _report_duplicates(declared: list[Resource], sink: DiagnosticSink) -> None:
    first = declared[0]
    scope = "" if first.kind == "Project" else f" in project {quote(first.project)}"
    where = [f"{r.document.file}:{r.mark('metadata', 'name').line}" for r in declared]
    for index, resource in enumerate(declared):
        others = ", ".join(w for i, w in enumerate(where) if i != index)
        resource.error(
            sink,
            ("metadata", "name"),
            f"{resource.subject} is declared more than once{scope} (also at {others}); "
            "names must be unique, rename or remove one",
        )


def _check_model_dataset(
    model: Resource, catalog: Catalog, sink: DiagnosticSink, check_references: bool
) -> None:
    project = catalog.projects.get(model.project)
    dataset_name = model.text("dataset")
    if project is None or dataset_name is None or name_problem(dataset_name):
        return
    check_model_medium(model, project, sink)
    dataset = catalog.datasets.get((model.project, dataset_name))
    if dataset is None:
        if not check_references or model.delete:
            return
        elsewhere = sorted(p for (p, n) in catalog.datasets if n == dataset_name)
        own = [n for (p, n) in catalog.datasets if p == model.project]
        hint = (
            f"; it is declared in project {quote(elsewhere[0])}, but a model must use a "
            "dataset of its own project"
            if elsewhere
            else did_you_mean(dataset_name, own)
        )
        model.error(
            sink,
            ("spec", "dataset"),
            f"{model.subject} refers to dataset {quote(dataset_name)}, which {project.subject} "
            f"does not declare{hint}",
        )
        return
    if dataset.delete and not model.delete:
        model.error(
            sink,
            ("spec", "dataset"),
            f"{model.subject} uses {dataset.subject}, which is marked for deletion; mark the "
            "model 'delete: true' too, or keep the dataset",
        )
