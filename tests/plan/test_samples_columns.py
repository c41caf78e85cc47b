"""Pure: which versions `samples` compares, and the page/summary it renders from them."""

from __future__ import annotations

from types import MappingProxyType

from reconciler.client import ModelRecord, ProjectRecord
from reconciler.samples.collect import collect_samples, pick_columns
from reconciler.samples.page import ShownImage, render_html, render_markdown
from reconciler.state import DesiredModel, DesiredState, SamplePrompt


def _record(model_id: int, name: str, status: str) -> ModelRecord:
    return ModelRecord(
        id=model_id, name=name, status=status, training_version="light", dataset_id=1,
        project_id=1, description=None, generation_prefix=None, raw=MappingProxyType({}),
    )  # fmt: skip


def _project() -> ProjectRecord:
    return ProjectRecord(
        id=1, project_name="lora", ip_type="defined_character", ip_medium="illustration",
        project_description=None, ip_name=None, ip_description=None, status=None,
        raw=MappingProxyType({}),
    )  # fmt: skip


SAMPLE = SamplePrompt(prompt="Lora waving", seed=42, name="waving")
DESIRED = DesiredState(
    models=(DesiredModel("lora", "lora-light", "lora-v1", "light", samples=(SAMPLE,)),)
)


def test_while_the_new_version_trains_only_the_previous_completed_one_is_sampled() -> None:
    from reconciler.generation.target import versions_of

    records = [
        _record(5, "lora-light", "Completed"),
        _record(8, "lora-light~2", "Failed"),
        _record(9, "lora-light~3", "InProgress"),
    ]
    columns, note = pick_columns(versions_of("lora", "lora-light", records))
    assert [(c.label, c.role) for c in columns] == [("lora/lora-light~1", "previous")]
    assert note == "the current version 'lora/lora-light~3' is InProgress: not sampled yet"


def test_current_and_previous_completed_side_by_side() -> None:
    records = {
        "lora": [_record(5, "lora-light", "Completed"), _record(9, "lora-light~2", "Completed")]
    }
    (model,) = collect_samples(DESIRED, {"lora": _project()}, records)
    assert [(c.label, c.role) for c in model.columns] == [
        ("lora/lora-light~2", "current"),
        ("lora/lora-light~1", "previous"),
    ]
    new, old = model.cell(0, 0), model.cell(0, 1)
    assert new.request is not None and new.request.model_id == 9
    assert old.request is not None and old.request.model_id == 5
    assert new.key and old.key and new.key != old.key  # one cache entry per model id
    images = {new.key: [ShownImage("images/a.png", 42)], old.key: [ShownImage("images/b.png", 42)]}
    html = render_html([model], images)
    assert html.index("images/a.png") < html.index("images/b.png")
    summary = render_markdown([model], images, generated=1, cached=1)
    assert (
        "| **waving**: Lora waving | seed 42 | 1 image (seed 42) | 1 image (seed 42) |" in summary
    )
    assert "1 image generated, 1 from the cache." in summary
