"""What the diff produces before the plan numbers it: changes that carry their steps by key.

The diff knows *what* must happen and *after what* (a dataset's completion before its model is
created, a model's deletion before its dataset's), but step ids are only handed out once the whole
plan is known and ordered. So each planned step has a stable, readable key (`<address>:<what>`),
depends on other keys (possibly in other changes), and `reconciler.plan.build_plan` turns keys
into the plan's `s001`.. ids in topological order.

Also the few wording helpers every reason uses, so reasons read alike across resource kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.image_review import ImageReview
from reconciler.steps import Step

TRAINING_TIME = "training takes 1-3 hours"
#: Statuses of a model that is, or may still be, training (deleting it needs a stop first).
TRAINING_STATUSES = ("InProgress", "Stopping")
#: Statuses after which a model can no longer become usable; it is replaced.
DEAD_STATUSES = ("Failed", "Stopped", "Deleted")


@dataclass
class PlannedStep:
    """One step before numbering: `after` holds keys of direct prerequisites."""

    key: str
    kind: type[Step]
    args: dict[str, Any]
    after: list[str] = field(default_factory=list)


@dataclass
class PlannedChange:
    address: str
    action: str
    reason: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    drift: bool = False
    warnings: list[str] = field(default_factory=list)
    steps: list[PlannedStep] = field(default_factory=list)
    images: tuple[ImageReview, ...] = ()  # a dataset change's images, for review

    def add(
        self, what: str, kind: type[Step], after: Iterable[str | None] = (), **args: Any
    ) -> str:
        """Append a step keyed `<address>:<what>`; None entries in `after` are skipped."""
        key = f"{self.address}:{what}"
        deps = [k for k in after if k is not None]
        self.steps.append(PlannedStep(key=key, kind=kind, args=args, after=deps))
        return key

    def add_keyed(
        self, key: str, kind: type[Step], after: Iterable[str | None] = (), **args: Any
    ) -> str:
        """Append a step under a key other changes know in advance (model deletes by id)."""
        deps = [k for k in after if k is not None]
        self.steps.append(PlannedStep(key=key, kind=kind, args=args, after=deps))
        return key

    def sinks(self) -> list[str]:
        """Keys of this change's steps that no other step of this change waits for."""
        waited = {dep for step in self.steps for dep in step.after}
        return [step.key for step in self.steps if step.key not in waited]


@dataclass
class DiffResult:
    changes: list[PlannedChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- wording


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """`1 image`, `3 images`, `2 models`."""
    return f"{count} {noun if count == 1 else (plural_noun or noun + 's')}"


def quoted(names: Sequence[str]) -> str:
    """`'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`."""
    items = [f"'{name}'" for name in names]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def model_key(model_id: int, what: str) -> str:
    """The key of a stop/delete step of an existing model, known to every change in advance."""
    return f"model#{model_id}:{what}"
