"""A plan as a file: its JSON form, saved atomically and loaded back exactly, or refused with
one line naming the file, the place and the fix.

The JSON (`format_version` 1) is described by `reconciler/schemas/plan.schema.json`; loading
validates against it and checks the order of the steps (`reconciler.plan.order_problem`), so
`apply --plan` only ever runs a plan this tool could have made.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import json
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from reconciler.adoption_lock import AdoptedImage, LockUpdate
from reconciler.budget import budget_from_json, budget_to_json
from reconciler.errors import ReconcilerError
from reconciler.image_review import review_from_json, review_to_json
from reconciler.plan import FORMAT_VERSION, Plan, order_problem, step_number
from reconciler.policies import result_from_json, result_to_json
from reconciler.read_scope import ReadScope
from reconciler.secrets import redact
from reconciler.steps import STEP_TYPES, AnyStep, Change, Ref

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
        "read_scope": {project: list(bases) for project, bases in plan.read_scope.as_pairs()},
        "budget": budget_to_json(plan.budget),
        "policies": [result_to_json(result) for result in plan.policies],
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
        "lock_updates": [
            {
                "lock_file": update.lock_file,
                "dataset": update.dataset,
                "images": [dataclasses.asdict(image) for image in update.images],
            }
            for update in plan.lock_updates
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
    steps.sort(key=lambda step: step_number(step.id))
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
        read_scope=ReadScope.from_pairs(data["read_scope"]),
        budget=budget_from_json(data.get("budget")),
        policies=tuple(result_from_json(r) for r in data.get("policies", ())),
        lock_updates=tuple(
            _lock_update_from_json(update) for update in data.get("lock_updates", ())
        ),
    )


def _lock_update_from_json(data: dict[str, Any]) -> LockUpdate:
    images = tuple(
        AdoptedImage(image["file_name"], image["remote_name"], image["sha256"])
        for image in data["images"]
    )
    return LockUpdate(data["lock_file"], data["dataset"], images)


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
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        fix = (
            "free some space on that disk, or write the plan elsewhere"
            if err.errno == errno.ENOSPC
            else "check the path and its permissions"
        )
        raise PlanFileError(
            f"plan file '{target}' cannot be written: {err.strerror or err}: {fix}"
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
