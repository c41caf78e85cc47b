"""Pure: desired x live -> an ordered, immutable plan of typed steps; save/load.

The plan is a value: `build_plan` makes it completely up front (the diff in `reconciler.diff`
decides what and why; this module orders the steps and numbers them), `plan` renders exactly
these steps and `apply` carries out exactly these steps. A saved plan records the fingerprint of
the live state it was made from, so `apply --plan` can refuse a plan the account has moved away
from. Its JSON form (`format_version` 1) is described by `reconciler/schemas/plan.schema.json`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import heapq
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from reconciler.diff import DiffResult, diff_states
from reconciler.errors import ReconcilerError
from reconciler.image_review import review_from_json, review_to_json
from reconciler.secrets import redact
from reconciler.state import GOOD_STATUSES, DesiredState, LiveState
from reconciler.steps import STEP_TYPES, Action, AnyStep, Change, Ref, StartTraining

FORMAT_VERSION = 1

__all__ = ["Action", "Change", "Plan", "build_plan"]

#: The actions the summary counts, in the order it lists them.
COUNTED_ACTIONS: tuple[Action, ...] = ("create", "update", "clone", "replace", "delete")


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    steps: tuple[AnyStep, ...]  # topologically ordered; apply may run independent ones in parallel
    fingerprint: str  # of the live state the plan was made from
    prune: bool = False
    format_version: int = FORMAT_VERSION
    errors: tuple[str, ...] = field(default=())  # changes refused (e.g. ip_type change)
    #: plan-wide notes the summary repeats loudly: training to start, completed models lost
    warnings: tuple[str, ...] = field(default=())
    #: what the live state was read for: (project, (declared dataset bases...)) pairs, sorted;
    #: `apply --plan` re-reads exactly this to check the fingerprint
    read_scope: ReadScopeData = field(default=())

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)

    def summary(self) -> dict[str, int]:
        """How many changes of each counted action: {create, update, clone, replace, delete}."""
        counts: dict[str, int] = dict.fromkeys(COUNTED_ACTIONS, 0)
        for change in self.changes:
            if change.action in counts:
                counts[change.action] += 1
        return counts

    def steps_of(self, change: Change) -> tuple[AnyStep, ...]:
        return change.steps


ReadScopeData = tuple[tuple[str, tuple[str, ...]], ...]


def declared_scope(desired: DesiredState) -> ReadScopeData:
    """The projects the manifests name, each with the dataset base names it declares (not
    marked delete): what the live state must be read for."""
    projects = {p.name for p in desired.projects}
    projects |= {d.project for d in desired.datasets} | {m.project for m in desired.models}
    deleted = {p.name for p in desired.projects if p.delete}
    bases: dict[str, set[str]] = {name: set() for name in projects}
    for dataset in desired.datasets:
        if not dataset.delete and dataset.project not in deleted:
            bases[dataset.project].add(dataset.name)
    return tuple((name, tuple(sorted(bases[name]))) for name in sorted(projects))


def build_plan(desired: DesiredState, live: LiveState, *, prune: bool = False) -> Plan:
    """The whole plan, ordered and numbered; refused changes are in `Plan.errors`."""
    result = diff_states(desired, live, prune=prune)
    plan = assemble_plan(result, fingerprint(live), prune=prune)
    return dataclasses.replace(plan, read_scope=declared_scope(desired))


def assemble_plan(result: DiffResult, live_fingerprint: str, *, prune: bool = False) -> Plan:
    """Order the diff's steps (prerequisites first, else in the order the diff made them) and
    renumber them `s001`..; nothing else about them changes."""
    keyed = [step for change in result.changes for step in change.steps]
    order = _topological_order(keyed)
    ids = {keyed[i].id: f"s{n:03d}" for n, i in enumerate(order, start=1)}
    position = {key: n for n, key in enumerate(ids)}
    numbered: dict[str, AnyStep] = {}
    for i in order:
        step = keyed[i]
        deps = sorted(set(step.depends_on), key=lambda key: position[key])
        numbered[step.id] = dataclasses.replace(
            step, id=ids[step.id], depends_on=tuple(ids[key] for key in deps)
        )
    changes = tuple(
        dataclasses.replace(
            change,
            steps=tuple(
                sorted((numbered[s.id] for s in change.steps), key=lambda s: _id_number(s.id))
            ),
        )
        for change in result.changes
    )
    steps = tuple(numbered[keyed[i].id] for i in order)
    return Plan(
        changes=changes,
        steps=steps,
        fingerprint=live_fingerprint,
        prune=prune,
        errors=tuple(result.errors),
        warnings=tuple(_training_warning(steps) + result.warnings),
    )


def _training_warning(steps: tuple[AnyStep, ...]) -> list[str]:
    trainings = sum(1 for step in steps if isinstance(step, StartTraining))
    if not trainings:
        return []
    noun = "model will" if trainings == 1 else "models will"
    return [f"{trainings} {noun} train (1-3 hours each)"]


def _id_number(step_id: str) -> int:
    return int(step_id[1:])


def _topological_order(steps: list[AnyStep]) -> list[int]:
    """Indices of `steps` so that every step comes after its prerequisites; ties keep the order
    in which the diff produced them (deterministic, and readable: a change's steps together)."""
    index = {step.id: i for i, step in enumerate(steps)}
    if len(index) != len(steps):
        raise ValueError("duplicate step keys in the plan")
    waiting = [0] * len(steps)
    unlocks: list[list[int]] = [[] for _ in steps]
    for i, step in enumerate(steps):
        for key in set(step.depends_on):
            if key not in index:
                raise ValueError(f"step {step.id} depends on unknown step {key}")
            waiting[i] += 1
            unlocks[index[key]].append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in unlocks[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(order) != len(steps):
        raise ValueError("the plan's steps depend on each other in a cycle")
    return order


def order_problem(steps: tuple[AnyStep, ...]) -> tuple[str, str | None] | None:
    """The one check of a plan's order, for a loaded plan and for apply: (step id, None) for a
    step listed twice, (step id, dependency) for a step depending on one that does not come
    before it, or None when apply can follow the order."""
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            return (step.id, None)
        missing = [dep for dep in step.depends_on if dep not in seen]
        if missing:
            return (step.id, missing[0])
        seen.add(step.id)
    return None


# Training finishing (InProgress -> Completed) changes nothing a plan would do: both are a good
# model (a stop step on a model that finished meanwhile is answered 409 and treated as stopped).
# Without this, a plan saved while models train would go stale hours later for no reason.
_SAME_FOR_PLANS = "InProgress|Completed"  # GOOD_STATUSES, folded into one


def fingerprint(live: LiveState) -> str:
    """sha256 of a canonical JSON of the whole live state (every field, sorted keys), with
    model statuses that plan alike folded together (`GOOD_STATUSES`)."""
    data = dataclasses.asdict(live)
    for project in data["projects"]:
        for dataset in project["datasets"] or ():
            for model in dataset["models"]:
                if model["status"] in GOOD_STATUSES:
                    model["status"] = _SAME_FOR_PLANS
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- JSON, save and load

_STEP_BASE_FIELDS = ("id", "address", "depends_on")


class PlanFileError(ReconcilerError):
    """A saved plan that cannot be read: missing, not JSON, not a plan, or another format."""


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON data (see reconciler/schemas/plan.schema.json)."""
    return {
        "format_version": plan.format_version,
        "fingerprint": plan.fingerprint,
        "prune": plan.prune,
        "summary": plan.summary(),
        "errors": list(plan.errors),
        "warnings": list(plan.warnings),
        "read_scope": {project: list(bases) for project, bases in plan.read_scope},
        "changes": [
            {
                "address": change.address,
                "action": change.action,
                "reason": change.reason,
                "drift": change.drift,
                "before": change.before,
                "after": change.after,
                "warnings": list(change.warnings),
                "operations": [_step_to_json(step) for step in change.steps],
                **({"images": [review_to_json(i) for i in change.images]} if change.images else {}),
            }
            for change in plan.changes
        ],
    }


def _step_to_json(step: AnyStep) -> dict[str, Any]:
    data: dict[str, Any] = {"id": step.id, "op": step.op, "depends_on": list(step.depends_on)}
    for f in dataclasses.fields(step):
        if f.name in _STEP_BASE_FIELDS:
            continue
        value = getattr(step, f.name)
        data[f.name] = dataclasses.asdict(value) if isinstance(value, Ref) else value
    return data


def plan_from_json(data: Any, *, source: str = "plan") -> Plan:
    """Rebuild the exact Plan from `plan_to_json` output; PlanFileError when it is not one."""
    if isinstance(data, dict) and data.get("format_version") not in (None, FORMAT_VERSION):
        raise PlanFileError(
            f"{_subject(source)} has format_version {data.get('format_version')!r}, but this "
            f"reconciler reads format_version {FORMAT_VERSION}: make the plan again with this "
            "version of reconciler"
        )
    problem = _first_schema_error(data)
    if problem:
        raise PlanFileError(f"{_subject(source)} is not a valid plan: {problem}")
    steps: list[AnyStep] = []
    changes: list[Change] = []
    for change in data["changes"]:
        own = [_step_from_json(op, change["address"]) for op in change["operations"]]
        steps += own
        changes.append(
            Change(
                address=change["address"],
                action=change["action"],
                reason=change["reason"],
                before=change["before"],
                after=change["after"],
                drift=change["drift"],
                warnings=tuple(change["warnings"]),
                steps=tuple(own),
                images=tuple(review_from_json(i) for i in change.get("images", ())),
            )
        )
    steps.sort(key=lambda step: _id_number(step.id))
    disorder = order_problem(tuple(steps))
    if disorder is not None:
        step_id, dep = disorder
        if dep is None:
            raise PlanFileError(f"{_subject(source)} lists step {step_id} twice")
        raise PlanFileError(
            f"{_subject(source)} is not a valid plan: step {step_id} depends on {dep}, which "
            "does not come before it"
        )
    return Plan(
        changes=tuple(changes),
        steps=tuple(steps),
        fingerprint=data["fingerprint"],
        prune=data["prune"],
        format_version=data["format_version"],
        errors=tuple(data["errors"]),
        warnings=tuple(data.get("warnings", ())),
        read_scope=tuple(
            (project, tuple(bases)) for project, bases in sorted(data["read_scope"].items())
        ),
    )


def _step_from_json(op: dict[str, Any], address: str) -> AnyStep:
    """The schema has checked every field; an optional one a plan of an older reconciler lacks
    (DeleteImage's image_id) reads as None."""
    cls = STEP_TYPES[op["op"]]
    args: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in _STEP_BASE_FIELDS:
            continue
        value: Any = op.get(f.name)
        args[f.name] = Ref(**value) if f.type == "Ref" else value
    return cls(id=op["id"], address=address, depends_on=tuple(op["depends_on"]), **args)


def save_plan(plan: Plan, path: str | Path) -> None:
    """Write the plan as JSON (atomically: a reader never sees half a file)."""
    target = Path(path)
    data = plan_to_json(plan)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if redact(text) != text:
        raise PlanFileError(
            f"plan file '{target}' was not written: the plan holds the API token (in "
            f"{_where_secret(data)}), which would then sit in the file in clear: remove the "
            "token from the manifests"
        )
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as err:
        raise PlanFileError(
            f"plan file '{target}' cannot be written: {err.strerror or err}: check the path "
            "and its permissions"
        ) from err


def _where_secret(data: dict[str, Any]) -> str:
    """The addresses of the changes whose JSON holds a registered secret (the API token)."""
    found = [
        change["address"]
        for change in data["changes"]
        if redact(json.dumps(change, ensure_ascii=False)) != json.dumps(change, ensure_ascii=False)
    ]
    return ", ".join(found) or "its header"


def load_plan(path: str | Path) -> Plan:
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise PlanFileError(
            f"plan file '{source}' does not exist: make one with `reconciler plan --out {source}`"
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise PlanFileError(f"plan file '{source}' cannot be read: {err}") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise PlanFileError(
            f"plan file '{source}' is not JSON (line {err.lineno}, column {err.colno}: "
            f"{err.msg}): make it again with `reconciler plan --out {source}`"
        ) from err
    except (RecursionError, ValueError) as err:  # too deep, or an int past Python's digit limit
        reason = (
            "is nested too deeply to read"
            if isinstance(err, RecursionError)
            else ("holds a number too long to read")
        )
        raise PlanFileError(
            f"plan file '{source}' {reason}: it is not a plan this tool wrote; make it again "
            f"with `reconciler plan --out {source}`"
        ) from None
    return plan_from_json(data, source=str(source))


def _subject(source: str) -> str:
    return "the plan" if source == "plan" else f"plan file '{source}'"


@functools.cache
def _validators() -> tuple[Draft202012Validator, dict[str, Draft202012Validator]]:
    """The document validator without the per-op branches, and one validator per op.

    Validating each operation only against its own op's branch (instead of letting every
    operation try all the schema's `if` branches) keeps loading a plan of thousands of uploads
    fast; the result is the same as validating against the whole schema.
    """
    schema = json.loads(
        resources.files("reconciler").joinpath("schemas/plan.schema.json").read_text()
    )
    branches = schema["$defs"]["operation"].pop("allOf")
    by_op = {}
    for branch in branches:
        op = branch["if"]["properties"]["op"]["const"]
        by_op[op] = Draft202012Validator({**branch["then"], "$defs": schema["$defs"]})
    return Draft202012Validator(schema), by_op


def _schema_errors(data: Any) -> Iterator[Any]:
    document, by_op = _validators()
    errors = list(document.iter_errors(data))
    if errors:
        yield from errors
        return
    for c, change in enumerate(data["changes"]):
        for o, operation in enumerate(change["operations"]):
            for error in by_op[operation["op"]].iter_errors(operation):
                error.path.extendleft(reversed(["changes", c, "operations", o]))
                yield error


def _first_schema_error(data: Any) -> str | None:
    error = best_match(_schema_errors(data))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the top level"
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return f"at {where}: {message}"
