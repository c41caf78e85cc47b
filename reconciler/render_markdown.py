"""The plan as a pull-request comment: a summary, a table of every change, details folded away.

GitHub refuses comments over 65,536 characters, and the first PR of a 200-image dataset used to
exceed it, so this rendering is held under a budget (`MAX_CHARS`): the summary, every change row
and every warning are always kept; what does not fit (long image lists, caption diffs, the list
of API operations) is cut, and the comment says so and where to see the whole plan. Everything
that comes from users (names, captions, descriptions, reasons quoting them) is escaped, so a
caption cannot inject HTML, close a `<details>` block or carry terminal escapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.image_review import ImageReview, caption_diffs
from reconciler.plan import Change, Plan
from reconciler.render import (
    NO_CHANGES,
    SYMBOLS,
    field_lines,
    image_lists,
    shows_budget,
    summary_line,
)
from reconciler.render_escape import is_partial, md_code, md_text, md_word_diff, word_diff
from reconciler.steps import describe_step

#: GitHub refuses comments over 65,536 characters; stay well below, with room for a CI header.
MAX_CHARS = 60_000
_BUDGET = MAX_CHARS - 1_500  # the note on what was left out, and a safety margin
_REASON_CUTS = (None, 400, 160, 80)  # change-row reasons, only ever cut for thousands of rows
FULL_PLAN_HINT = (
    "The whole plan: the HTML plan (`reconciler show PLANFILE --format html`, the CI artifact) "
    "or `reconciler show PLANFILE` on the plan saved with `reconciler plan --out PLANFILE`."
)


@dataclass(frozen=True)
class _Level:
    """How much of the optional sections a rendering keeps (None: all)."""

    items: int | None  # names shown per image list
    captions: int | None  # caption diffs shown per change
    operations: str  # "all" | "counts" | "none"
    unchanged: bool  # list the no-ops (else only their count)


_LEVELS = (
    _Level(None, None, "all", True),
    _Level(None, None, "counts", True),
    *(
        _Level(items, captions, "counts", False)
        for items, captions in (
            (None, None),
            (200, 100),
            (100, 70),
            (100, 50),
            (60, 35),
            (40, 25),
            (20, 12),
            (10, 6),
        )
    ),
    _Level(5, 3, "none", False),
    _Level(0, 0, "none", False),
)


def render_markdown(plan: Plan) -> str:
    """The plan as a PR comment, under MAX_CHARS whatever its size (see the module docstring)."""
    bodies: dict[int, str] = {}  # a level's body is the same whatever the reasons' cut
    for cut in _REASON_CUTS:
        head = _head(plan, cut)
        if len(head) > _BUDGET:
            continue  # no body fits beside it: cut the reasons further
        for n, level in enumerate(_LEVELS):
            if n not in bodies:
                bodies[n] = _body(plan, level)
            if len(head) + len(bodies[n]) <= _BUDGET:
                return head + bodies[n] + _left_out_note(plan, level, cut)
    # Thousands of changes: only the head, cut at a line (it opens no <details> to leave open).
    note = _left_out_note(plan, _LEVELS[-1], _REASON_CUTS[-1])
    if len(head) > _BUDGET:
        head = head[: head.rindex("\n", 0, _BUDGET)] + "\n| | ... | | more changes cut |\n"
    return head + "\n_The details of every change are cut._\n" + note


def _head(plan: Plan, reason_cut: int | None) -> str:
    """What is always kept: errors, the summary, every warning and a row for every change."""
    out = ["## Reconciler plan", ""]
    failed = [r for r in plan.policies if not r.passed]
    for result in failed:  # a failed policy goes first: it decides whether the plan may run
        out.append(
            f"> {':no_entry:' if result.blocks else ':warning:'} **{md_text(result.line())}**"
        )
    if failed:
        out.append("")
    for error in plan.errors:
        out.append(f"> **Error:** {md_text(error)}")
    if plan.errors:
        out.append("")
    if not plan.has_changes and not plan.errors:
        out += [f"**{NO_CHANGES}**", ""]
    else:
        out += [f"**{summary_line(plan)}**", ""]
    # one warning box: the budget line, then trainings started, stopped and lost, and the rest
    box = [f"> :hourglass: {md_text(plan.budget.line())}"] if shows_budget(plan) else []
    for warning in plan.warnings:
        box.append(f"> :warning: **{md_text(warning)}**")
    for change in plan.changes:
        for warning in change.warnings:
            box.append(f"> :warning: {md_code(change.address)}: {md_text(warning)}")
    if box:
        out += [*box, ""]
    passed = [r for r in plan.policies if r.passed]
    if passed:
        out += [md_text("; ".join(r.line() for r in passed)), ""]
    active = [c for c in plan.changes if c.action != "noop"]
    if active:
        out += ["| | Address | Action | Reason |", "|---|---|---|---|"]
        for change in active:
            action = change.action + (" (drift)" if change.drift else "")
            reason = change.reason
            if reason_cut is not None and len(reason) > reason_cut:
                reason = reason[: reason_cut - 3] + "..."
            out.append(
                f"| `{SYMBOLS[change.action]}` | {md_code(change.address)} | {action} | "
                f"{md_text(reason)} |"
            )
        out.append("")
    return "\n".join(out) + "\n"


def _body(plan: Plan, level: _Level) -> str:
    out: list[str] = []
    for change in plan.changes:
        if change.action != "noop":
            out += _details(change, level)
    out += _operations(plan, level.operations)
    noops = [c for c in plan.changes if c.action == "noop"]
    if noops and level.unchanged:
        out.append(f"<details><summary>Unchanged ({len(noops)})</summary>")
        out.append("")
        out += [f"- {md_code(c.address)}: {md_text(c.reason)}" for c in noops]
        out += ["", "</details>", ""]
    elif noops:
        out += [f"Unchanged: {len(noops)} (listed in the whole plan).", ""]
    return "\n".join(out)


def _details(change: Change, level: _Level) -> list[str]:
    lines = [f"- {md_text(line)}" for line in field_lines(change)]
    diffs = caption_diffs(change.images)
    for title, items in image_lists(change):
        if diffs and title == "caption changes":
            continue  # the caption diffs below name them
        shown = items if level.items is None else items[: level.items]
        text = f"- {title} ({len(items)})"
        if shown:
            text += ": " + ", ".join(md_code(item) for item in shown)
        if len(shown) < len(items):
            text += f", ... and {len(items) - len(shown)} more" if shown else ""
        lines.append(text)
    if diffs:
        shown_diffs = diffs if level.captions is None else diffs[: level.captions]
        lines.append(f"- caption diffs ({len(diffs)}):")
        for image in shown_diffs:
            lines += _caption_diff(image)
        if len(shown_diffs) < len(diffs):
            lines.append(f"  - ... and {len(diffs) - len(shown_diffs)} more")
    if not lines:
        return []
    summary = f"<details><summary><code>{md_text(change.address)}</code>: what changes</summary>"
    return [summary, "", *lines, "", "</details>", ""]


def _caption_diff(image: ImageReview) -> list[str]:
    """`` - `a.png` (automatic → manual): Lora ~~standing~~ **sitting** on a beach ``, then the
    whole texts when the word diff mixes them."""
    sources = f"{image.source_before or 'none'} → {image.source_after or 'none'}"
    head = f"  - {md_code(image.file)} ({md_text(sources)}): "
    old, new = image.caption_before, image.caption_after
    if old is not None and new is not None:
        runs = word_diff(old, new)
        lines = [head + md_word_diff(runs)]
        if is_partial(runs):
            lines += [f"    - was: {md_text(old)}", f"    - now: {md_text(new)}"]
        return lines
    before = f"~~{md_text(old)}~~" if old else "(no caption)"
    after = f"**{md_text(new)}**" if new is not None else "Bria's automatic caption"
    return [head + f"{before} → {after}"]


def _operations(plan: Plan, how: str) -> list[str]:
    if not plan.steps or how == "none":
        return []
    out = [f"<details><summary>API operations, in order ({len(plan.steps)})</summary>", ""]
    if how == "all":
        for step in plan.steps:
            after = f" (after {', '.join(step.depends_on)})" if step.depends_on else ""
            out.append(f"1. `{step.id}` {_described(describe_step(step))}{after}")
    else:
        counts: dict[str, int] = {}
        for step in plan.steps:
            counts[step.op] = counts.get(step.op, 0) + 1
        out += [f"- {op} x{n}" for op, n in counts.items()]
    return [*out, "", "</details>", ""]


def _described(line: str) -> str:
    """`describe_step`'s line with its `code` parts (image names) as code when they are plain."""
    out = []
    for n, part in enumerate(line.split("`")):
        if n % 2:
            out.append(md_code(part))
            continue
        lead = " " if part[:1].isspace() else ""
        trail = " " if part[-1:].isspace() and part.strip() else ""
        out.append(lead + md_text(part) + trail)
    return "".join(out)


def _left_out_note(plan: Plan, level: _Level, reason_cut: int | None) -> str:
    """What this comment leaves out, and where the whole plan is; empty when nothing is."""
    left: list[str] = []
    if reason_cut is not None:
        left.append(f"reasons cut to {reason_cut} characters")
    if level.items is not None and _longest_list(plan) > level.items:
        left.append(f"image lists cut to the first {level.items}" if level.items else "image names")
    most_diffs = max((len(caption_diffs(c.images)) for c in plan.changes), default=0)
    if level.captions is not None and most_diffs > level.captions:
        left.append(
            f"caption diffs cut to the first {level.captions} per dataset"
            if level.captions
            else "caption diffs"
        )
    if plan.steps and level.operations != "all":
        left.append(
            "the API operations (counted by kind)"
            if level.operations == "counts"
            else "the list of API operations"
        )
    if not level.unchanged and any(c.action == "noop" for c in plan.changes):
        left.append("the unchanged resources")
    if not left:
        return ""
    leaves_out = f"To fit a pull-request comment, this leaves out: {_join(left)}."
    return f"\n---\n\n_{leaves_out} {FULL_PLAN_HINT}_\n"


def _longest_list(plan: Plan) -> int:
    return max((len(items) for c in plan.changes for _, items in image_lists(c)), default=0)


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
