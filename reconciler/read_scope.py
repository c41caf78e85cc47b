"""What a plan was made from: the part of the account that was read, and its fingerprint.

The live state is read as far as the manifests need it (`ReadScope`: the declared projects and
the dataset base names each declares). A saved plan records both the scope and the fingerprint of
what was read, so `apply --plan` can read exactly the same again and refuse the plan when the
account has moved away from it. Pure, below both `live` (which reads by a scope) and `plan`
(which records it), so neither imports the other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.state import GOOD_STATUSES, DesiredState, LiveState


@dataclass(frozen=True)
class ReadScope:
    """Which projects to read in depth, and which dataset base names they declare."""

    projects: frozenset[str] = frozenset()
    # project -> declared (not deleted) dataset base names whose current version's images we need
    dataset_bases: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # project -> declared model names: a model of these with a value the client does not know
    # stops the run, any other is left out with a warning. Not saved with a plan (`as_pairs`):
    # `apply PLANFILE` reads leniently, and a model left out then moves the fingerprint.
    models: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)

    def as_pairs(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(project, (bases...)) pairs, sorted: the scope as a saved plan records it."""
        return tuple(
            (project, tuple(sorted(self.dataset_bases.get(project, frozenset()))))
            for project in sorted(self.projects)
        )

    @classmethod
    def from_pairs(cls, pairs: Mapping[str, list[str]]) -> ReadScope:
        return cls(
            projects=frozenset(pairs),
            dataset_bases={project: frozenset(bases) for project, bases in pairs.items()},
        )


def scope_from_desired(desired: DesiredState) -> ReadScope:
    """The projects the manifests name, each with the dataset base names it declares (not
    marked delete): what the live state must be read for."""
    projects = {p.name for p in desired.projects}
    projects |= {d.project for d in desired.datasets} | {m.project for m in desired.models}
    deleted = {p.name for p in desired.projects if p.delete}
    bases: dict[str, set[str]] = {name: set() for name in projects}
    for dataset in desired.datasets:
        if not dataset.delete and dataset.project not in deleted:
            bases[dataset.project].add(dataset.name)
    models: dict[str, set[str]] = {name: set() for name in projects}
    for model in desired.models:
        models[model.project].add(model.name)
    return ReadScope(
        projects=frozenset(projects),
        dataset_bases={name: frozenset(names) for name, names in bases.items()},
        models={name: frozenset(names) for name, names in models.items()},
    )


# Training finishing (InProgress -> Completed) changes nothing a plan would do: both are a good
# model (a stop step on a model that finished meanwhile is answered 409 and treated as stopped).
# Without this, a plan saved while models train would go stale hours later for no reason; for the
# same reason a model's timestamps are left out (they only feed the training budget).
_SAME_FOR_PLANS = "InProgress|Completed"  # GOOD_STATUSES, folded into one


def fingerprint(live: LiveState) -> str:
    """sha256 of a canonical JSON of the whole live state (every field, sorted keys), with
    model statuses that plan alike folded together (`GOOD_STATUSES`)."""
    data = dataclasses.asdict(live)
    for project in data["projects"]:
        for dataset in project["datasets"] or ():
            for model in dataset["models"]:
                model.pop("created_at", None)
                model.pop("updated_at", None)
                if model["status"] in GOOD_STATUSES:
                    model["status"] = _SAME_FOR_PLANS
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
