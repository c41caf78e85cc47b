"""How the planner compares the fields of the two API generations (pure).

The reference trains `light`/`max` models (`training_version`) on datasets captioned from a
`caption_prefix`; Bria's current generation (the published OpenAPI) trains `training_mode`
models (fully_automated | expert, with expert `training_parameters`) on datasets with a
`visual_schema`. The rules here keep one promise: a field one side does not have (a record of
the other generation, an answer that leaves it out, a manifest that does not write it) is never
a difference, so it never makes the plan replace or update anything. Only what both sides state
and disagree on is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from reconciler.state import DesiredModel, LiveModel, TrainingParameterItems
from reconciler.steps import AnyStep, CreateModel

DEFAULT_TOTAL_STEPS = 750  # Start Training's published default total_training_steps


def desired_training(desired: DesiredModel) -> str:
    """`light`, `max`, `fully_automated` or `expert`, for reasons and the plan's after."""
    return desired.training_mode or desired.training_version or ""


def live_training(model: LiveModel) -> str | None:
    """The live model's generation field, or None when its record names neither."""
    return model.training_mode or model.training_version or None


def parameters_dict(items: TrainingParameterItems | None) -> dict[str, Any] | None:
    return None if items is None else dict(items)


def training_differences(desired: DesiredModel, model: LiveModel) -> list[str]:
    """Why `model` was not trained as `desired` says: the generation field, then (expert) each
    parameter the manifest writes that the live record states differently."""
    wanted, trained = desired_training(desired), live_training(model)
    if trained is None or not wanted:
        return []  # the record names no training (e.g. Update Model's answer): not a difference
    if wanted != trained:
        if _field(model) == _desired_field(desired):
            return [f"{_field(model)} {trained} -> {wanted}"]
        return [f"{_field(model)} {trained} -> {_desired_field(desired)} {wanted}"]
    if desired.training_mode != "expert" or not desired.training_parameters:
        return []
    live = dict(model.training_parameters or ())
    if model.training_parameters is None:
        return []  # the answer left the parameters out
    problems = []
    for name, value in desired.training_parameters:
        if name in live and not _same(live[name], value):
            problems.append(f"training_parameters.{name} {_show(live[name])} -> {_show(value)}")
    return problems


def checkpoint_note(desired: DesiredModel, model: LiveModel) -> str | None:
    """A difference between the checkpoint the manifest wants and the one Bria uses, which
    Bria's API cannot change (Update Model takes only name and description): said, not acted
    on. None when they agree, or when the model has not finished training."""
    if desired.checkpoint is None or model.active_model_version is None:
        return None
    active = _active_step(desired, model)
    if model.status != "Completed" or active == str(desired.checkpoint):
        return None
    missing = ""
    if model.checkpoint_steps is not None and desired.checkpoint not in model.checkpoint_steps:
        missing = f" (and it has no checkpoint {desired.checkpoint} any more)"
    return (
        f"model '{model.name}' uses checkpoint {active} for inference, not "
        f"{desired.checkpoint}{missing}: Bria's API cannot select a checkpoint (Update Model "
        f"takes only name and description), so the plan changes nothing; select checkpoint "
        f"{desired.checkpoint} in Bria's console"
    )


def _active_step(desired: DesiredModel, model: LiveModel) -> str | None:
    """The checkpoint used for inference as a step: Bria's "default" is the training's last
    step (the last saved checkpoint, else the trained total_training_steps)."""
    active = model.active_model_version
    if active is None or active.strip().lower() != "default":
        return active
    if model.checkpoint_steps:
        return str(max(model.checkpoint_steps))
    trained = dict(model.training_parameters or ()) or dict(desired.training_parameters or ())
    total = trained.get("total_training_steps", DEFAULT_TOTAL_STEPS)
    return str(total) if isinstance(total, int) else active


def schema_text_differs(desired: str | None, live: str | None) -> bool:
    """The manifest's visual schema against Bria's, compared as JSON (Bria may store it with
    other whitespace); None on the manifest's side is "not managed"."""
    if desired is None:
        return False
    if live is None:
        return True
    try:
        return bool(json.loads(desired) != json.loads(live))
    except json.JSONDecodeError:
        return desired != live


def _same(live: Any, wanted: Any) -> bool:
    """Numbers within float32 precision are the same: the published OpenAPI stores
    learning_rate as `format: float`, so 0.0002 may come back as 0.00019999999494757503."""
    if isinstance(live, int | float) and isinstance(wanted, int | float):
        return math.isclose(float(live), float(wanted), rel_tol=1e-6, abs_tol=0.0)
    return bool(live == wanted)


def _show(value: Any) -> str:
    return "null" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _field(model: LiveModel) -> str:
    return "training_mode" if model.training_mode else "training_version"


def _desired_field(desired: DesiredModel) -> str:
    return "training_mode" if desired.training_mode else "training_version"


def lock_warnings(project: str, lock: str | None, steps: Iterable[AnyStep]) -> list[str]:
    """Bria locks a project to one training version family (the project record's
    `training_version`: 'max', or 'fibo' for the current generation): a model this plan creates
    of another family may be refused. Said before apply, as Bria's refusal would come midway."""
    clashing_kind = {"max": "training_mode", "fibo": "max"}.get((lock or "").lower())
    clashing = sorted(
        step.model.remote_name
        for step in steps
        if isinstance(step, CreateModel)
        and (
            (clashing_kind == "training_mode" and step.training_mode is not None)
            or (clashing_kind == "max" and step.training_version == "max")
        )
    )
    if not clashing:
        return []
    models = "models" if len(clashing) > 1 else "model"
    return [
        f"project '{project}' is locked by Bria to the '{lock}' training version family, so it "
        f"may refuse to create the {clashing_kind} {models} "
        f"{', '.join(repr(name) for name in clashing)}: keep each family in its own project"
    ]
