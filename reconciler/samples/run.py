"""`reconciler samples` from start to page: read, decide, count, generate what is not cached,
render.

The count of images to generate is printed before anything is generated (generation costs
money); with `dry_run` that is all. Results an interrupted run was answered with but did not
download (see `reconciler.generation.paid`) are downloaded, not generated again. Results go to
the cache first, then are copied next to the page, so the page folder can be attached to a CI
run on its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.client import BriaClient, ModelRecord, ProjectRecord
from reconciler.generation.output import require_writable_folder
from reconciler.generation.results import DEFAULT_RESULT_TIMEOUT
from reconciler.generation.run import paid_once
from reconciler.samples.cache import CachedResult, SampleCache
from reconciler.samples.collect import Cell, ModelSamples, collect_samples
from reconciler.samples.page import ShownImage, render_html, render_markdown
from reconciler.state import DesiredState

PRICE_FROM = 0.018  # Bria: "from $0.018 per image"


@dataclass(frozen=True)
class SamplesOutcome:
    page: Path | None
    summary: Path | None
    to_generate: int  # images
    generated: int
    cached: int


def read_account(
    client: BriaClient, desired: DesiredState
) -> tuple[dict[str, ProjectRecord], dict[str, Sequence[ModelRecord]]]:
    """The projects holding a model with samples, and their models (one list per project)."""
    wanted = {m.project for m in desired.models if m.samples and not m.delete}
    projects: dict[str, ProjectRecord] = {}
    if not wanted:
        return projects, {}
    for record in sorted(client.list_projects(lenient=True), key=lambda p: p.id):
        if record.project_name in wanted:
            projects.setdefault(record.project_name, record)
    models: dict[str, Sequence[ModelRecord]] = {
        name: client.list_project_models(record.id, lenient=True)
        for name, record in projects.items()
    }
    return projects, models


def _unique_requests(models: list[ModelSamples]) -> dict[str, tuple[Cell, str]]:
    """Cache key -> (a cell making it, its column label): one request per key."""
    found: dict[str, tuple[Cell, str]] = {}
    for model in models:
        for cell in model.cells:
            if cell.key is not None and cell.key not in found:
                found[cell.key] = (cell, model.columns[cell.column].label)
    return found


def run_samples(
    client: BriaClient,
    desired: DesiredState,
    cache: SampleCache,
    out_dir: Path,
    *,
    dry_run: bool = False,
    timeout: float = DEFAULT_RESULT_TIMEOUT,
    echo: Callable[[str], None] = print,
) -> SamplesOutcome:
    projects, records = read_account(client, desired)
    models = collect_samples(desired, projects, records)
    requests = _unique_requests(models)
    results: dict[str, CachedResult] = {}
    missing: list[tuple[str, Cell, str]] = []
    for key, (cell, label) in requests.items():
        hit = cache.get(key)
        if hit is not None:
            results[key] = hit
        else:
            missing.append((key, cell, label))
    paid = {key: urls for key, _, _ in missing if (urls := cache.pending(key)) is not None}
    to_make = [(key, cell) for key, cell, _ in missing if key not in paid]
    images = sum(cell.request.expected_results for _, cell in to_make if cell.request)
    cached_images = sum(len(hit.files) for hit in results.values())
    versions = sum(len(model.columns) for model in models)
    echo(
        f"samples: {images} image{'s' if images != 1 else ''} to generate "
        f"({len(to_make)} request{'s' if len(to_make) != 1 else ''}; {cached_images} cached"
        + (f"; {len(paid)} made by an interrupted run, to download" if paid else "")
        + f") for {versions} model version{'s' if versions != 1 else ''}"
        + (f"; Bria charges from ${PRICE_FROM * images:.2f}" if images else "")
    )
    for model in models:
        if model.note:
            echo(f"samples: {model.project}/{model.model}: {model.note}")
    if dry_run:
        return SamplesOutcome(None, None, images, 0, cached_images)
    require_writable_folder(out_dir)
    if missing:
        require_writable_folder(cache.root, "the samples cache")
    generated = 0
    for number, (key, cell, label) in enumerate(missing, start=1):
        assert cell.request is not None
        echo(f"samples: [{number}/{len(missing)}] {label}: '{cell.request.params['prompt']}'")
        made = paid_once(
            client, cache, key, cell.request, label, timeout=timeout, echo=echo, command="samples"
        )
        results[key] = cache.put(key, cell.request, label, made)
        generated += len(made)
    page, summary = _write_page(models, results, out_dir, generated, cached_images)
    return SamplesOutcome(page, summary, images, generated, cached_images)


def _write_page(
    models: list[ModelSamples],
    results: dict[str, CachedResult],
    out_dir: Path,
    generated: int,
    cached: int,
) -> tuple[Path, Path]:
    folder = out_dir / "images"
    folder.mkdir(parents=True, exist_ok=True)
    shown: dict[str, list[ShownImage]] = {}
    for key, result in results.items():
        for index, (file, seed) in enumerate(zip(result.files, result.seeds, strict=True), 1):
            name = f"{key[:16]}-{index}{file.suffix}"
            shutil.copyfile(file, folder / name)
            shown.setdefault(key, []).append(ShownImage(f"images/{name}", seed))
    page = out_dir / "index.html"
    page.write_text(render_html(models, shown), encoding="utf-8")
    summary = out_dir / "summary.md"
    summary.write_text(
        render_markdown(models, shown, generated=generated, cached=cached), encoding="utf-8"
    )
    return page, summary
