"""`metadata.protect: true` (Pulumi's `protect`): the plan refuses to delete or replace it.

A trained model costs hours; `reconciler import` marks every Completed model it imports
protected, so no later edit retrains or deletes it by surprise. The refusal is a plan error (exit
1, nothing applied) naming the resource, what the plan would do and why, and how to lift it. A
resource is its every version: deleting `lora-light~1` (pruned as superseded) is deleting the
protected model `lora-light` as much as `metadata.delete` is.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.naming import parse_versioned_name
from reconciler.state import DesiredState
from reconciler.steps import Change

REFUSED_ACTIONS = {"delete": "delete", "replace": "replace"}


def protected_addresses(desired: DesiredState) -> dict[str, str]:
    """address -> the manifest file:line that protects it."""
    found: dict[str, str] = {}
    for project in desired.projects:
        if project.protect:
            found[f"project.{project.name}"] = str(project.source or "its manifest")
    for dataset in desired.datasets:
        if dataset.protect:
            found[f"dataset.{dataset.project}/{dataset.name}"] = str(
                dataset.source or "its manifest"
            )
    for model in desired.models:
        if model.protect:
            found[f"model.{model.project}/{model.name}"] = str(model.source or "its manifest")
    return found


def protection_refusals(desired: DesiredState, changes: Sequence[Change]) -> list[str]:
    """One error per change that would delete or replace a protected resource."""
    protected = protected_addresses(desired)
    if not protected:
        return []
    refusals = []
    for change in changes:
        verb = REFUSED_ACTIONS.get(change.action)
        if verb is None:
            continue
        address = _resource_address(change.address)
        where = protected.get(address)
        if where is None:
            continue
        kind, _, name = address.partition(".")
        refusals.append(
            f"{kind} '{name}' is protected (metadata.protect: true, {where}), but the plan "
            f"would {verb} '{change.address.partition('.')[2]}': {change.reason}; remove "
            "metadata.protect from its manifest to allow it"
        )
    return refusals


def _resource_address(address: str) -> str:
    """`model.lora/lora-light~2` -> `model.lora/lora-light` (a version is the resource)."""
    kind, _, rest = address.partition(".")
    if kind == "project":
        return address
    project, _, name = rest.partition("/")
    parsed = parse_versioned_name(name)
    return f"{kind}.{project}/{parsed.base if parsed else name}"
