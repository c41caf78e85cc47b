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
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from reconciler.diff import DiffResult, PlannedStep, diff_states
from reconciler.errors import ReconcilerError
from reconciler.image_review import ImageReview, review_from_json, review_to_json
from reconciler.secrets import redact
from reconciler.state import DesiredState, LiveState
from reconciler.steps import STEP_TYPES, Ref, StartTraining, Step

FORMAT_VERSION = 1

Action = Literal[
    "create",  # a new resource
    "update",  # in-place change (includes drift repair)
    "clone",  # a completed dataset changes: new draft version cloned from it, edited, completed
    "replace",  # a model is retrained (new model) or a project recreated
    "delete",
    "noop",  # nothing to do; `reason` says why
]
#: The actions the summary counts, in the order it lists them.
COUNTED_ACTIONS: tuple[str, ...] = ("create", "update", "clone", "replace", "delete")


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
    #: a dataset change's images with their captions before and after (for review)
    images: tuple[ImageReview, ...] = ()


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    steps: tuple[Step, ...]  # topologically ordered; apply may run independent ones in parallel
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
        counts = dict.fromkeys(COUNTED_ACTIONS, 0)
        for change in self.changes:
            if change.action in counts:
                counts[change.action] += 1
        return counts

    def steps_of(self, change: Change) -> tuple[Step, ...]:
        wanted = set(change.step_ids)
        return tuple(step for step in self.steps if step.id in wanted)


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
    planned: list[tuple[str, PlannedStep]] = [
        (change.address, step) for change in result.changes for step in change.steps
    ]
    order = _topological_order([step for _, step in planned])
    ids = {planned[i][1].key: f"s{n:03d}" for n, i in enumerate(order, start=1)}
    position = {key: n for n, key in enumerate(ids)}
    steps: list[Step] = []
    for i in order:
        address, step = planned[i]
        deps = sorted(set(step.after), key=lambda key: position[key])
        steps.append(
            step.kind(
                id=ids[step.key],
                address=address,
                depends_on=tuple(ids[key] for key in deps),
                **step.args,
            )
        )
    changes = tuple(
        Change(
            address=change.address,
            action=change.action,  # type: ignore[arg-type]
            reason=change.reason,
            before=change.before,
            after=change.after,
            drift=change.drift,
            warnings=tuple(change.warnings),
            step_ids=tuple(sorted((ids[s.key] for s in change.steps), key=_id_number)),
            images=change.images,
        )
        for change in result.changes
    )
    return Plan(
        changes=changes,
        steps=tuple(steps),
        fingerprint=live_fingerprint,
        prune=prune,
        errors=tuple(result.errors),
        warnings=tuple(_training_warning(steps) + result.warnings),
    )


def _training_warning(steps: list[Step]) -> list[str]:
    trainings = sum(1 for step in steps if isinstance(step, StartTraining))
    if not trainings:
        return []
    noun = "model will" if trainings == 1 else "models will"
    return [f"{trainings} {noun} train (1-3 hours each)"]


def _id_number(step_id: str) -> int:
    return int(step_id[1:])


def _topological_order(steps: list[PlannedStep]) -> list[int]:
    """Indices of `steps` so that every step comes after its prerequisites; ties keep the order
    in which the diff produced them (deterministic, and readable: a change's steps together)."""
    index = {step.key: i for i, step in enumerate(steps)}
    if len(index) != len(steps):
        raise ValueError("duplicate step keys in the plan")
    waiting = [0] * len(steps)
    unlocks: list[list[int]] = [[] for _ in steps]
    for i, step in enumerate(steps):
        for key in set(step.after):
            if key not in index:
                raise ValueError(f"step {step.key} depends on unknown step {key}")
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


# Training finishing (InProgress -> Completed) changes nothing a plan would do: both are a good
# model (a stop step on a model that finished meanwhile is answered 409 and treated as stopped).
# Without this, a plan saved while models train would go stale hours later for no reason.
_SAME_FOR_PLANS = {"InProgress": "InProgress|Completed", "Completed": "InProgress|Completed"}


def fingerprint(live: LiveState) -> str:
    """sha256 of a canonical JSON of the whole live state (every field, sorted keys), with
    model statuses that plan alike folded together (`_SAME_FOR_PLANS`)."""
    data = dataclasses.asdict(live)
    for project in data["projects"]:
        for dataset in project["datasets"] or ():
            for model in dataset["models"]:
                model["status"] = _SAME_FOR_PLANS.get(model["status"], model["status"])
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- JSON, save and load

_STEP_BASE_FIELDS = ("id", "address", "depends_on")


class PlanFileError(ReconcilerError):
    """A saved plan that cannot be read: missing, not JSON, not a plan, or another format."""


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON data (see reconciler/schemas/plan.schema.json)."""
    by_id = {step.id: step for step in plan.steps}
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
                "operations": [_step_to_json(by_id[step_id]) for step_id in change.step_ids],
                **({"images": [review_to_json(i) for i in change.images]} if change.images else {}),
            }
            for change in plan.changes
        ],
    }


def _step_to_json(step: Step) -> dict[str, Any]:
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
    steps: list[Step] = []
    changes: list[Change] = []
    for change in data["changes"]:
        ids = []
        for op in change["operations"]:
            steps.append(_step_from_json(op, change["address"]))
            ids.append(op["id"])
        changes.append(
            Change(
                address=change["address"],
                action=change["action"],
                reason=change["reason"],
                before=change["before"],
                after=change["after"],
                drift=change["drift"],
                warnings=tuple(change["warnings"]),
                step_ids=tuple(ids),
                images=tuple(review_from_json(i) for i in change.get("images", ())),
            )
        )
    steps.sort(key=lambda step: _id_number(step.id))
    _check_order(steps, source)
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


def _step_from_json(op: dict[str, Any], address: str) -> Step:
    cls = STEP_TYPES[op["op"]]
    args: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in _STEP_BASE_FIELDS or f.name not in op:
            continue
        value = op[f.name]
        args[f.name] = Ref(**value) if f.type == "Ref" else value
    return cls(id=op["id"], address=address, depends_on=tuple(op["depends_on"]), **args)


def _check_order(steps: list[Step], source: str) -> None:
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            raise PlanFileError(f"{_subject(source)} lists step {step.id} twice")
        for dep in step.depends_on:
            if dep not in seen:
                raise PlanFileError(
                    f"{_subject(source)} is not a valid plan: step {step.id} depends on {dep}, "
                    "which does not come before it"
                )
        seen.add(step.id)


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
