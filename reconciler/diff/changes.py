"""What the diff produces: typed steps keyed by what they do, gathered into changes.

The diff knows *what* must happen and *after what* (a dataset's completion before its model is
created, a model's deletion before its dataset's), but step ids are only handed out once the whole
plan is known and ordered. So each step the diff builds is a real typed `Step` whose `id` is a
stable, readable key (`<address>:<what>`) and whose `depends_on` holds other keys (possibly of
other changes); `reconciler.plan.build_plan` orders the steps and renumbers them `s001`...

`StepList` collects one change's steps: `head(what, *after)` gives the id/address/depends_on of
a new step (a TypedDict, so `CreateModel(**steps.head("create"), dataset=...)` is checked by mypy
keyword by keyword), `add` appends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from reconciler.adoption_lock import LockUpdate
from reconciler.steps import AnyStep, Change
from reconciler.training_hours import CURRENT_GENERATION
from reconciler.wording import plural, quoted

TRAINING_TIME = "training takes 1-3 hours"  # the reference's figure (light, max)


def training_time(training_mode: str | None) -> str:
    """What a reason says a training takes: the reference's 1-3 hours, or the published
    OpenAPI's range for the current generation (`training_mode` models)."""
    if not training_mode:
        return TRAINING_TIME
    return f"training takes {CURRENT_GENERATION.low:g}-{CURRENT_GENERATION.high:g} hours"


__all__ = [
    "TRAINING_TIME",
    "training_time",
    "Change",
    "DiffResult",
    "StepList",
    "model_key",
    "plural",
    "quoted",
]


class StepHead(TypedDict):
    """The fields every step has, as the diff fills them in (keys, not yet plan ids)."""

    id: str
    address: str
    depends_on: tuple[str, ...]


class StepList:
    """The steps of one change, in the order the diff makes them."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.steps: list[AnyStep] = []

    def head(self, what: str, *after: str | None) -> StepHead:
        """Id `<address>:<what>`, waiting for `after` (None entries are skipped)."""
        return self.keyed(f"{self.address}:{what}", *after)

    def keyed(self, key: str, *after: str | None) -> StepHead:
        """A step under a key other changes know in advance (model stops and deletes by id)."""
        deps = tuple(dict.fromkeys(k for k in after if k is not None))
        return StepHead(id=key, address=self.address, depends_on=deps)

    def add(self, step: AnyStep) -> str:
        self.steps.append(step)
        return step.id

    def sinks(self) -> list[str]:
        """Keys of the steps that no other step of this change waits for."""
        waited = {dep for step in self.steps for dep in step.depends_on}
        return [step.id for step in self.steps if step.id not in waited]

    def __bool__(self) -> bool:
        return bool(self.steps)


@dataclass
class DiffResult:
    """Everything the diff of the whole desired state gives: changes, refusals, warnings."""

    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: adoption locks to rewrite once the plan is applied (`reconciler.diff.adoption`)
    lock_updates: list[LockUpdate] = field(default_factory=list)


def model_key(model_id: int, what: str) -> str:
    """The key of a stop/delete step of an existing model, known to every change in advance."""
    return f"model#{model_id}:{what}"


def orphan_advice(
    orphans: list[int],
    copies: int,
    route: str,
    *,
    otherwise: str = "rename or delete the extra ones in Bria's console, then plan again",
) -> str:
    """How to resolve a name Bria holds more than once: the empty copies (an interrupted
    create's orphans, most likely; all but the first when every copy is empty) by id and
    route, else the general advice (`otherwise`)."""
    if len(orphans) == copies:
        orphans = orphans[1:]
    if not orphans:
        return otherwise
    ids = ", ".join(str(i) for i in orphans)
    routes = ", ".join(f"DELETE /tailored-gen/{route}/{i}" for i in orphans)
    which = "is" if len(orphans) == 1 else "are"
    return (
        f"id {ids} {which} empty, most likely left by a create that was carried out after it "
        f"timed out: delete it in Bria's console ({routes}), then plan again"
    )
