"""The plan as people read it: Terraform-like text for a terminal, and the pieces every format
shares (symbols, the summary line, field lines; `describe_step` lives beside the steps, in
`reconciler.steps`); markdown for a pull request is in `reconciler.render_markdown`, the visual
page in `reconciler.render_html`.

All render the same `Plan` value that `apply` carries out, so the review cannot differ from what
happens: every change with its symbol, its reason and what it changes; refused changes first; the
no-ops last, each with why nothing needs doing; a summary line counting creates, updates, clones,
replacements (retrains) and deletions; and loud warnings when training starts or completed models
are lost. Long image lists are shortened (the first 10, then "... and 37 more"); the markdown
keeps them whole inside collapsible <details> blocks.
"""

from __future__ import annotations

from typing import Any

from reconciler.image_review import caption_diffs
from reconciler.naming import parse_image_remote_name
from reconciler.plan import Change, Plan
from reconciler.render_escape import printable

SYMBOLS = {
    "create": "+",
    "update": "~",
    "clone": "<=",
    "replace": "+/-",
    "delete": "-",
    "noop": "=",
}
LEGEND = "Symbols: + create, ~ update, <= clone (new version), +/- replace, - delete"
_COLORS = {"+": "32", "~": "33", "<=": "36", "+/-": "35", "-": "31", "=": "2"}
LIST_FIELDS = ("images_added", "images_changed", "images_removed", "caption_changes")
SHOWN_ITEMS = 10
NO_CHANGES = "No changes. The account matches the manifests."


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['clone']} to clone, {counts['replace']} to replace (retrain), "
        f"{counts['delete']} to delete."
    )


def shorten(items: list[Any], shown: int = SHOWN_ITEMS) -> str:
    """`a, b, c` or the first `shown` then `... and 37 more`."""
    text = ", ".join(str(item) for item in items[:shown])
    if len(items) > shown:
        text += f", ... and {len(items) - shown} more"
    return text


def field_lines(change: Change) -> list[str]:
    """`key: before -> after` for what changes (all values for create/delete), lists apart."""
    before = change.before or {}
    after = change.after or {}
    lines = []
    for key in _keys(before, after):
        if key in LIST_FIELDS:
            continue
        old, new = before.get(key), after.get(key)
        if change.after is None:
            lines.append(f"{key}: {_value(old)}")
        elif change.before is None or key not in before:
            lines.append(f"{key}: {_value(new)}")
        elif key not in after:
            continue
        elif old != new:
            lines.append(f"{key}: {_value(old)} -> {_value(new)}")
    return lines


def image_lists(change: Change) -> list[tuple[str, list[str]]]:
    after = change.after or {}
    return [
        (key.replace("_", " "), list(after[key]))
        for key in LIST_FIELDS
        if isinstance(after.get(key), list) and after[key]
    ]


def operations_line(plan: Plan, change: Change) -> str:
    """`operations (7): CloneDataset, UploadImage x2, SetCaption x3, UpdateDataset`."""
    counts: dict[str, int] = {}
    for step in plan.steps_of(change):
        counts[step.op] = counts.get(step.op, 0) + 1
    ops = [op if n == 1 else f"{op} x{n}" for op, n in counts.items()]
    return f"operations ({len(change.step_ids)}): " + ", ".join(ops)


def _keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    keys = list(before)
    keys += [key for key in after if key not in before]
    return keys


def _value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + shorten([_item(v) for v in value]) + "]"
    if isinstance(value, dict):  # e.g. training_parameters: `rank=64, learning_rate=0.0002`
        return ", ".join(f"{key}={_item(item)}" for key, item in value.items()) or "(none)"
    return str(value)


def _item(value: Any) -> str:
    if isinstance(value, dict) and "name" in value:
        return f"{value['name']} ({value.get('status', '?')})"
    return str(value)


# ---------------------------------------------------------------- text


def caption_text(caption: str | None, source: str | None) -> str:
    """A caption for people: quoted whole, or what stands in for it."""
    if caption is not None:
        return '"' + caption + '"'
    if source == "automatic":
        return "(Bria's automatic caption)"
    return "(no caption)"


def caption_diff_lines(change: Change) -> list[str]:
    """Each caption change whole: `caption a.png (automatic -> manual):`, then - old, + new."""
    lines = []
    for image in caption_diffs(change.images):
        sources = f"{image.source_before or 'none'} -> {image.source_after or 'none'}"
        lines.append(f"      caption {printable(image.file)} ({sources}):")
        before = caption_text(image.caption_before, image.source_before)
        after = caption_text(image.caption_after, image.source_after)
        lines.append(f"        - {printable(before)}")
        lines.append(f"        + {printable(after)}")
    return lines


def render_text(plan: Plan, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    out: list[str] = []
    for error in plan.errors:
        out.append(paint(f"Error: {printable(error)}", "1;31"))
    if plan.errors:
        out.append("")
    active = [c for c in plan.changes if c.action != "noop"]
    noops = [c for c in plan.changes if c.action == "noop"]
    if active:
        out.append(LEGEND)
        out.append("")
    for change in active:
        symbol = SYMBOLS[change.action]
        head = f"{paint(symbol, _COLORS[symbol])} {printable(change.address)} ({change.action})"
        if change.drift:
            head += " " + paint("[drift: changed outside the manifests]", "33")
        out.append(head)
        out.append(f"    {printable(change.reason)}")
        for line in field_lines(change):
            out.append(f"      {printable(line)}")
        for title, items in image_lists(change):
            out.append(f"      {title} ({len(items)}): {printable(shorten(items))}")
        out += caption_diff_lines(change)
        for warning in change.warnings:
            out.append("    " + paint(f"warning: {printable(warning)}", "33"))
        out.append(f"      {operations_line(plan, change)}")
        out.append("")
    if noops:
        out.append("No changes:" if not active else "Unchanged:")
        for change in noops:
            line = f"{printable(change.address)}: {printable(change.reason)}"
            out.append(f"  {paint('=', _COLORS['='])} {line}")
        out.append("")
    if not plan.has_changes and not plan.errors:
        out.append(NO_CHANGES)
    else:
        out.append(paint(summary_line(plan), "1"))
    if shows_budget(plan):
        out.append(plan.budget.line())
    for result in plan.policies:
        out.append(paint(result.line(), "1;31" if result.blocks else "33" if result.warns else "2"))
    for warning in plan.warnings:
        out.append(paint(f"WARNING: {printable(warning)}", "1;33"))
    return "\n".join(out) + "\n"


def shows_budget(plan: Plan) -> bool:
    """The budget line is in every plan that starts, stops or loses a training, or is priced."""
    budget = plan.budget
    return bool(budget.start or budget.stop or budget.lost or budget.cost_low is not None)


# ---------------------------------------------------------------- operations


def image_file_name(image_name: str) -> str:
    """The local file an image came from, or its remote name when it is not the reconciler's."""
    parsed = parse_image_remote_name(image_name)
    return parsed.file_name if parsed else image_name
