"""A Model's `spec.samples`: read into `SamplePrompt`s, each checked against the generation rules.

The schema checks types and ranges; what depends on the model (max models have no fast mode,
steps_num 4-20 in fast mode and 20-50 otherwise, 1-2 results without fast mode, text-to-vector
only for illustration projects, an English prompt without special characters) is checked here
with the same rules `reconciler generate` applies, so `validate` reports a sample Bria would
refuse at its line, long before `reconciler samples` pays for anything.
"""

from __future__ import annotations

from typing import Any

from reconciler.generation.rules import (
    SAMPLE_FIELDS,
    GenerationOptions,
    GenerationRefused,
    ModelFacts,
    check_request,
)
from reconciler.manifest.diagnostics import DiagnosticSink
from reconciler.manifest.references import Catalog
from reconciler.state import SamplePrompt, Source


def sample_options(sample: SamplePrompt) -> GenerationOptions:
    """The generation a sample asks for."""
    return GenerationOptions(
        prompt=sample.prompt,
        vector=sample.vector,
        num_results=sample.num_results,
        aspect_ratio=sample.aspect_ratio,
        seed=sample.seed,
        steps=sample.steps_num,
        fast=sample.fast,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sample(item: dict[str, Any], source: Source) -> SamplePrompt:
    """An entry the schema accepted (so the types hold; defaults where fields are absent)."""
    name, ratio, fast = item.get("name"), item.get("aspect_ratio"), item.get("fast")
    return SamplePrompt(
        prompt=str(item.get("prompt", "")),
        seed=_int(item.get("seed")) or 0,
        name=name if isinstance(name, str) else None,
        num_results=_int(item.get("num_results")) or 1,
        aspect_ratio=ratio if isinstance(ratio, str) else None,
        steps_num=_int(item.get("steps_num")),
        fast=fast if isinstance(fast, bool) else None,
        vector=item.get("vector") is True,
        source=source,
    )


def read_samples(
    catalog: Catalog, sink: DiagnosticSink
) -> dict[tuple[str, str], tuple[SamplePrompt, ...]]:
    """The samples of every schema-valid model, each entry checked (errors at its line)."""
    found: dict[tuple[str, str], tuple[SamplePrompt, ...]] = {}
    for key, model in sorted(catalog.models.items()):
        items = model.spec.get("samples")
        if not model.valid or model.delete or not isinstance(items, list):
            continue
        project = catalog.projects.get(model.project)
        facts = ModelFacts(
            label=f"{model.project}/{model.name}",
            model_id=0,
            status="Completed",
            training_version=model.text("training_version") or "",
            ip_medium=(project.text("ip_medium") if project else None) or "",
            generation="current" if model.text("training_mode") else "reference",
        )
        samples: list[SamplePrompt] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            mark = model.mark("spec", "samples", index)
            sample = _sample(item, Source(model.document.file, mark.line, mark.col))
            try:
                check_request(sample_options(sample), facts, {}, SAMPLE_FIELDS)
            except GenerationRefused as refused:
                field = refused.field
                model.error(
                    sink,
                    ("spec", "samples", index)
                    + ((field,) if field is not None and field in item else ()),
                    f"model '{model.name}' sample {index + 1} ('{sample.name or sample.prompt}'): "
                    f"{refused}",
                )
                continue
            samples.append(sample)
        found[key] = tuple(samples)
    return found
