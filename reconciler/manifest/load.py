"""`load_manifests`: paths in, the desired state and every diagnostic out.

The one entry point `validate`, `plan` and `apply` share, so all three see the same checks. It
never raises for anything in the files: problems are diagnostics, and the caller decides (exit
1 for validate, refusing to plan for plan/apply). The steps run in a fixed order: read every
document, index names and check references across files, then read the image folders, since
the recommended image counts depend on which models use a dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from reconciler.manifest.adoption import Adoption, read_adoptions
from reconciler.manifest.diagnostics import DiagnosticSink, ImageReadStats, LoadResult
from reconciler.manifest.digests import DigestCache
from reconciler.manifest.discovery import find_manifests, looks_ours, skipped_document
from reconciler.manifest.documents import Resource, read_resource
from reconciler.manifest.generations import (
    check_current_captions,
    check_current_completion,
    checkpoint_step,
    read_visual_schema,
    training_parameter_items,
    visual_schema_file,
)
from reconciler.manifest.images import ReadCounter, read_dataset_images
from reconciler.manifest.references import Catalog, build_catalog
from reconciler.manifest.rules import check_image_count
from reconciler.manifest.samples import read_samples
from reconciler.manifest.yaml_loader import read_yaml_file
from reconciler.state import (
    DatasetStatus,
    DesiredDataset,
    DesiredImage,
    DesiredModel,
    DesiredProject,
    DesiredState,
    SamplePrompt,
    Source,
    TrainingMode,
    TrainingVersion,
)


def load_manifests(
    paths: Sequence[str], *, cache_dir: Path | None = None, strict: bool = False
) -> LoadResult:
    """Read the manifests under `paths` (default ".") and their image folders.

    `cache_dir` holds the image digest cache (plan/apply pass `.reconciler/cache`); None keeps
    it in memory for this run only. YAML files in the folders that are not manifests, and
    foreign documents beside ours in a file, are skipped (`LoadResult.skipped`); with `strict`
    each of them is an error instead.
    """
    sink = DiagnosticSink()
    discovery = find_manifests(list(paths) or ["."], sink)
    files = discovery.files
    if strict:
        for name in discovery.skipped:
            sink.error(
                name,
                1,
                1,
                "not a manifest (no 'apiVersion: tailored-gen/v1'), and --strict is given; "
                "move it out of the paths given, or drop --strict",
            )
    skipped: list[tuple[str, int, str]] = [(name, 0, name) for name in discovery.skipped]
    resources: list[Resource] = []
    roots: dict[Path, Path] = {}
    every_file_read = True
    for manifest in files:
        read = read_yaml_file(manifest.path, manifest.display, sink, ours=looks_ours)
        every_file_read = every_file_read and read.complete
        roots[manifest.path] = manifest.root
        for other in read.skipped:
            label = skipped_document(manifest.display, other.index, other.total)
            skipped.append((manifest.display, other.index, label))
            if strict:
                sink.error(
                    manifest.display,
                    other.start.line,
                    other.start.col,
                    f"document {other.index} of {other.total} is not a manifest (no "
                    "'apiVersion: tailored-gen/v1'), and --strict is given; move it to a file "
                    "of its own outside the paths given, or drop --strict",
                )
        for document in read.documents:
            resource = read_resource(document, sink)
            if resource is not None:
                resources.append(resource)
    catalog = build_catalog(resources, sink, check_references=every_file_read)
    samples = read_samples(catalog, sink)

    cache = DigestCache(cache_dir)
    counter = ReadCounter()
    images: dict[tuple[str, str], tuple[DesiredImage, ...]] = {}
    schemas: dict[tuple[str, str], str] = {}
    for key, dataset in sorted(catalog.datasets.items()):
        if dataset.delete:
            continue
        schema = read_visual_schema(dataset, roots[dataset.document.path], sink)
        if schema is not None:
            schemas[key] = schema
        if not dataset.text("images"):
            continue
        root = roots[dataset.document.path]
        folder = read_dataset_images(dataset, root, cache, counter, sink)
        if folder is not None:
            users = catalog.models_using(dataset)
            check_image_count(dataset, folder.count, users, sink)
            check_current_completion(dataset, folder.count, users, sink)
            check_current_captions(dataset, folder.images, users, sink)
            images[key] = folder.images
    cache.save()
    adoptions = read_adoptions(
        {
            key: d
            for key, d in catalog.datasets.items()
            if d.valid and d.project in catalog.projects
        },
        sink,
    )

    return LoadResult(
        state=_desired_state(catalog, images, samples, adoptions, schemas),
        diagnostics=sink.sorted(),
        files=tuple(f.display for f in files),
        skipped=() if strict else tuple(label for _, _, label in sorted(skipped)),
        image_stats=ImageReadStats(
            images=counter.images,
            cache_hits=counter.cache_hits,
            files_read=counter.files_read,
            bytes_read=counter.bytes_read,
        ),
    )


def _desired_state(
    catalog: Catalog,
    images: dict[tuple[str, str], tuple[DesiredImage, ...]],
    samples: dict[tuple[str, str], tuple[SamplePrompt, ...]],
    adoptions: dict[tuple[str, str], Adoption],
    schemas: dict[tuple[str, str], str],
) -> DesiredState:
    """The valid resources as state dataclasses, sorted by name (resources with errors left out)."""
    projects = tuple(
        DesiredProject(
            name=p.name,
            ip_type=p.text("ip_type") or "",
            ip_medium=p.text("ip_medium") or "",
            description=p.text("description"),
            ip_name=p.text("ip_name"),
            ip_description=p.text("ip_description"),
            delete=p.delete,
            allow_replace=p.metadata.get("allowReplace") is True,
            source=_source(p),
            protected=_protected(p),
        )
        for _, p in sorted(catalog.projects.items())
        if p.valid
    )
    datasets = tuple(
        DesiredDataset(
            project=d.project,
            name=d.name,
            images=images.get(key, ()),
            caption_prefix=d.text("caption_prefix"),
            status=cast(DatasetStatus, d.text("status") or "completed"),
            delete=d.delete,
            source=_source(d),
            adopt=key in adoptions,
            adopted=adoptions[key].images if key in adoptions else (),
            lock_file=adoptions[key].lock_file if key in adoptions else None,
            visual_schema=schemas.get(key),
            upload_type=d.text("upload_type"),
            visual_schema_file=visual_schema_file(d),
            protected=_protected(d),
        )
        for key, d in sorted(catalog.datasets.items())
        if d.valid and d.project in catalog.projects
    )
    models = tuple(
        DesiredModel(
            project=m.project,
            name=m.name,
            dataset=m.text("dataset") or "",
            training_version=_training_version(m),
            description=m.text("description"),
            delete=m.delete,
            source=_source(m),
            samples=samples.get(key, ()),
            training_mode=cast(TrainingMode | None, m.text("training_mode")),
            training_parameters=training_parameter_items(m.spec.get("training_parameters")),
            checkpoint=checkpoint_step(m.spec.get("checkpoint")),
            protected=_protected(m),
            keep_superseded_training=m.metadata.get("keepSupersededTraining") is True,
        )
        for key, m in sorted(catalog.models.items())
        if m.valid and m.project in catalog.projects
    )
    return DesiredState(projects=projects, datasets=datasets, models=models)


def _training_version(model: Resource) -> TrainingVersion | None:
    """spec.training_version; "light" for a deleted model written without a spec."""
    version = model.text("training_version")
    if version is None and model.text("training_mode") is None:
        return "light"
    return cast(TrainingVersion | None, version)


def _protected(resource: Resource) -> Source | None:
    """Where `metadata.protect: true` is written (the plan's refusals point there), or None."""
    if resource.metadata.get("protect") is not True:
        return None
    mark = resource.mark("metadata", "protect")
    return Source(file=resource.document.file, line=mark.line, col=mark.col)


def _source(resource: Resource) -> Source:
    start = resource.document.start
    return Source(file=resource.document.file, line=start.line, col=start.col)
