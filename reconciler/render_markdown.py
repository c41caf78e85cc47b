"""The plan as a pull-request comment: a summary, a table of every change, details folded away.

GitHub refuses comments over 65,536 characters, and the first PR of a 200-image dataset used to
exceed it, so this rendering is held under a budget (`MAX_CHARS`): the summary, every change row
and every warning are always kept; what does not fit (long image lists, caption diffs, the list
of API operations) is cut, and the comment says so and where to see the whole plan. Everything
that comes from users (names, captions, descriptions, reasons quoting them) is escaped, so a
caption cannot inject HTML, close a `<details>` block or carry terminal escapes.
"""

from __future__ import annotations

from reconciler.plan import Plan
from reconciler.render import (
    NO_CHANGES,
    SYMBOLS,
    describe_step,
    field_lines,
    image_lists,
    summary_line,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: Plan) -> str:
    out = ["## Reconciler plan", ""]
    for error in plan.errors:
        out.append(f"> **Error:** {_cell(error)}")
    if plan.errors:
        out.append("")
    if not plan.has_changes and not plan.errors:
        out += [f"**{NO_CHANGES}**", ""]
    else:
        out += [f"**{summary_line(plan)}**", ""]
    for warning in plan.warnings:
        out.append(f"> :warning: **{_cell(warning)}**")
    if plan.warnings:
        out.append("")
    active = [c for c in plan.changes if c.action != "noop"]
    if active:
        out += ["| | Address | Action | Reason |", "|---|---|---|---|"]
        for change in active:
            action = change.action + (" (drift)" if change.drift else "")
            out.append(
                f"| `{SYMBOLS[change.action]}` | `{change.address}` | {action} | "
                f"{_cell(change.reason)} |"
            )
        out.append("")
    for change in active:
        details = [f"`{line}`" for line in field_lines(change)]
        details += [f"warning: {w}" for w in change.warnings]
        lists = image_lists(change)
        if not details and not lists:
            continue
        out.append(f"<details><summary><code>{change.address}</code>: what changes</summary>")
        out.append("")
        out += [f"- {_cell(line)}" for line in details]
        for title, items in lists:
            out.append(f"- {title} ({len(items)}): " + ", ".join(f"`{i}`" for i in items))
        out += ["", "</details>", ""]
    if plan.steps:
        out.append(f"<details><summary>API operations, in order ({len(plan.steps)})</summary>")
        out.append("")
        for step in plan.steps:
            after = f" (after {', '.join(step.depends_on)})" if step.depends_on else ""
            out.append(f"1. `{step.id}` {_cell(describe_step(step))}{after}")
        out += ["", "</details>", ""]
    noops = [c for c in plan.changes if c.action == "noop"]
    if noops:
        out.append(f"<details><summary>Unchanged ({len(noops)})</summary>")
        out.append("")
        out += [f"- `{c.address}`: {_cell(c.reason)}" for c in noops]
        out += ["", "</details>", ""]
    return "\n".join(out)
