"""Pure: desired x live -> an ordered, immutable plan of typed steps; save/load.

(Skeleton: the dataclasses below are the contract between the planner and `apply`; the builder,
renderers and (de)serialisation are being written.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.state import DesiredState, LiveState
from reconciler.steps import Step

FORMAT_VERSION = 1

Action = Literal[
    "create",  # a new resource
    "update",  # in-place change (includes drift repair)
    "clone",  # a completed dataset changes: new draft version cloned from it, edited, completed
    "replace",  # a model is retrained (new model) or a project recreated
    "delete",
    "noop",  # nothing to do; `reason` says why
]


@dataclass(frozen=True)
class Change:
    address: str  # "project.lora", "dataset.lora/lora-v1", "model.lora/lora-light"
    action: Action
    reason: str  # one plain sentence; for noop, why nothing needs doing
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    drift: bool = False  # the change repairs an edit made outside the manifests
    warnings: tuple[str, ...] = ()
    step_ids: tuple[str, ...] = ()  # the steps (in plan order) that carry this change out


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    steps: tuple[Step, ...]  # topologically ordered; apply may run independent ones in parallel
    fingerprint: str  # of the live state the plan was made from
    prune: bool = False
    format_version: int = FORMAT_VERSION
    errors: tuple[str, ...] = field(default=())  # changes refused (e.g. ip_type change)

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)


def build_plan(desired: DesiredState, live: LiveState, *, prune: bool = False) -> Plan:
    raise NotImplementedError


def fingerprint(live: LiveState) -> str:
    raise NotImplementedError
