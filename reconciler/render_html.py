"""The plan as one self-contained HTML page: what a design team opens to review a pull request.

What they review is visual: which pictures go into a dataset and how each is captioned. So per
dataset change the page shows a thumbnail of every image the plan adds, changes, removes or keeps,
each with its caption before and after (a word diff when it changes, with its source: automatic
or manual); then the models that train and what that costs (the plan's `budget` when it has
one); warnings and refused changes come first. The page embeds everything (styles, thumbnails as
`data:` URIs; no script, and a Content-Security-Policy that loads nothing from outside), so a CI
artifact opens anywhere. Every text from users is escaped (`reconciler.render_escape`).

Pure: the thumbnails are made by the caller (`reconciler.thumbnails`) and passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.image_review import ImageReview
from reconciler.plan import Change, Plan
from reconciler.render import (
    NO_CHANGES,
    SYMBOLS,
    field_lines,
    image_lists,
    shows_budget,
    summary_line,
)
from reconciler.render_escape import html_text, is_partial, word_diff
from reconciler.render_html_style import PAGE_STYLE
from reconciler.steps import StartTraining, describe_step

#: thumbnails by local path: a data URI, or None when the file cannot be read
Thumbnails = Mapping[str, str | None]
#: placeholders by kind ("removed", "missing"): data URIs
Placeholders = Mapping[str, str]

_GROUPS: tuple[tuple[str, str], ...] = (
    ("captions", "Caption changes"),
    ("added", "Added"),
    ("changed", "New content"),
    ("removed", "Removed"),
    ("kept", "Kept"),
)
_ACTION_CLASS = {
    "create": "create",
    "update": "update",
    "clone": "clone",
    "replace": "replace",
    "delete": "delete",
    "noop": "noop",
}


def render_html(plan: Plan, thumbs: Thumbnails, placeholders: Placeholders) -> str:
    """The whole page (a string ending in a newline)."""
    title = NO_CHANGES if not plan.has_changes and not plan.errors else summary_line(plan)
    body = [
        '<header class="top">',
        "<h1>Reconciler plan</h1>",
        _summary_chips(plan),
        "</header>",
        "<main>",
        *_alerts(plan),
        *_training(plan),
        *_contents(plan),
    ]
    for n, change in enumerate(plan.changes):
        if change.action != "noop":
            body += _change(n, change, plan, thumbs, placeholders)
    body += _operations(plan)
    body += _unchanged(plan)
    body += [
        "</main>",
        "<footer>Made by <code>reconciler</code>: the same plan as <code>reconciler show "
        "PLANFILE</code> prints; <code>apply --plan</code> carries out exactly these "
        "operations.</footer>",
    ]
    head = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        f"<title>Reconciler plan: {html_text(title)}</title>",
        f"<style>{PAGE_STYLE}</style>",
        "</head>",
        "<body>",
    ]
    return "\n".join([*head, *body, "</body>", "</html>"]) + "\n"


def _summary_chips(plan: Plan) -> str:
    if not plan.has_changes and not plan.errors:
        return f'<p class="summary nochange">{html_text(NO_CHANGES)}</p>'
    chips = []
    for action, count in plan.summary().items():
        label = "replace (retrain)" if action == "replace" else action
        dim = "" if count else " zero"
        chips.append(
            f'<span class="chip {_ACTION_CLASS[action]}{dim}"><b>{count}</b> to {label}</span>'
        )
    return f'<p class="summary">{"".join(chips)}</p>'


def _alerts(plan: Plan) -> list[str]:
    out = []
    for result in plan.policies:  # a failed policy first: it decides whether the plan may run
        if not result.passed:
            kind = "error" if result.blocks else "warn"
            out.append(f'<p class="alert {kind}">{html_text(result.line())}</p>')
    for error in plan.errors:
        out.append(f'<p class="alert error"><b>Refused:</b> {html_text(error)}</p>')
    for warning in plan.warnings:
        out.append(f'<p class="alert warn"><b>Warning:</b> {html_text(warning)}</p>')
    for change in plan.changes:
        for warning in change.warnings:
            out.append(
                f'<p class="alert warn"><b>{html_text(change.address)}:</b> '
                f"{html_text(warning)}</p>"
            )
    return ['<section class="alerts">', *out, "</section>"] if out else []


def _training(plan: Plan) -> list[str]:
    """The models that will train, and the plan's budget when it carries one."""
    rows = []
    for change in plan.changes:
        steps = plan.steps_of(change)
        if not any(isinstance(step, StartTraining) for step in steps):
            continue
        after = change.after or {}
        training = after.get("training_version") or after.get("training_mode") or ""
        rows.append(
            "<tr>"
            f"<td>{html_text(str(after.get('version') or change.address))}</td>"
            f"<td>{html_text(str(after.get('dataset') or ''))}</td>"
            f"<td>{html_text(str(training))}</td>"
            f"<td>{'retrains (replaces the model)' if change.action == 'replace' else 'trains'}"
            "</td></tr>"
        )
    budget = shows_budget(plan)
    if not rows and not budget:
        return []
    out = ['<section class="training">', "<h2>Training</h2>"]
    if rows:
        out += [
            '<table class="models"><thead><tr><th>Model</th><th>Dataset</th>'
            "<th>Training version</th><th></th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
        ]
    if budget:
        out.append(f'<p class="budget">{html_text(plan.budget.line())}</p>')
    return [*out, "</section>"]


def _contents(plan: Plan) -> list[str]:
    active = [(n, c) for n, c in enumerate(plan.changes) if c.action != "noop"]
    if not active:
        return []
    items = [
        f'<li><a href="#change-{n}"><span class="sym {_ACTION_CLASS[c.action]}">'
        f"{html_text(SYMBOLS[c.action])}</span> {html_text(c.address)}</a></li>"
        for n, c in active
    ]
    return ['<nav class="contents"><h2>Changes</h2><ul>', *items, "</ul></nav>"]


def _change(
    n: int, change: Change, plan: Plan, thumbs: Thumbnails, placeholders: Placeholders
) -> list[str]:
    kind = change.address.split(".", 1)[0]
    drift = (
        ' <span class="tag drift">drift: changed outside the manifests</span>'
        if (change.drift)
        else ""
    )
    out = [
        f'<section class="change {html_text(kind)}" id="change-{n}">',
        f'<h2><span class="sym {_ACTION_CLASS[change.action]}">'
        f"{html_text(SYMBOLS[change.action])}</span> {html_text(change.address)} "
        f'<span class="action">{html_text(change.action)}</span>{drift}</h2>',
        f'<p class="reason">{html_text(change.reason)}</p>',
    ]
    lines = field_lines(change)
    if lines:
        out.append('<ul class="fields">')
        out += [f"<li><code>{html_text(line)}</code></li>" for line in lines]
        out.append("</ul>")
    if change.images:
        out += _gallery(change.images, thumbs, placeholders)
    else:
        for title, items in image_lists(change):
            names = ", ".join(html_text(str(item)) for item in items)
            out.append(f'<p class="list"><b>{html_text(title)} ({len(items)}):</b> {names}</p>')
    steps = plan.steps_of(change)
    if steps:
        out.append(f'<p class="ops-count">{len(steps)} API operations</p>')
    return [*out, "</section>"]


def _gallery(
    images: Sequence[ImageReview], thumbs: Thumbnails, placeholders: Placeholders
) -> list[str]:
    groups: dict[str, list[ImageReview]] = {key: [] for key, _ in _GROUPS}
    for image in images:
        groups["captions" if image.caption_changed else image.state].append(image)
    counts = " · ".join(
        f'<span class="count {key}">{len(groups[key])} {_count_label(key, len(groups[key]))}</span>'
        for key, _ in _GROUPS
        if groups[key]
    )
    out = [f'<p class="counts">{counts}</p>']
    for key, label in _GROUPS:
        if not groups[key]:
            continue
        out.append(f'<h3 class="group {key}">{label} ({len(groups[key])})</h3>')
        out.append('<div class="grid">')
        out += [_figure(image, key, thumbs, placeholders) for image in groups[key]]
        out.append("</div>")
    return out


def _count_label(group: str, count: int) -> str:
    if group == "captions":
        return "caption change" if count == 1 else "caption changes"
    return {"changed": "with new content"}.get(group, group)


def _figure(image: ImageReview, group: str, thumbs: Thumbnails, placeholders: Placeholders) -> str:
    if image.path is None:
        src, note = placeholders["removed"], ""
    else:
        found = thumbs.get(image.path)
        src = found or placeholders["missing"]
        note = "" if found else '<span class="note">local file not found</span>'
    name = html_text(image.file)
    return (
        f'<figure class="image {group}">'
        f'<img src="{src}" alt="{name}" width="160" height="160">'
        f'<figcaption><span class="name">{name}</span>{note}{_captions(image)}</figcaption>'
        "</figure>"
    )


def _captions(image: ImageReview) -> str:
    """The caption before and after, as this image's group needs it."""
    before = _source_tag(image.source_before)
    after = _source_tag(image.source_after)
    if image.state == "removed":
        return f'<p class="cap gone">{_text_or(image.caption_before)}{before}</p>'
    if image.caption_changed:
        whole = ""
        if image.caption_before is not None and image.caption_after is not None:
            runs = word_diff(image.caption_before, image.caption_after)
            diff = " ".join(_diff_run(op, text) for op, text in runs)
            if is_partial(runs):
                whole = (
                    '<details class="whole"><summary>whole captions</summary>'
                    f'<p class="cap old"><span class="label">was</span> '
                    f"{html_text(image.caption_before)}</p>"
                    f'<p class="cap"><span class="label">now</span> '
                    f"{html_text(image.caption_after)}</p></details>"
                )
        else:
            diff = f"<del>{_text_or(image.caption_before)}</del> <ins>{_after_text(image)}</ins>"
        return f'<p class="cap diff">{diff}</p><p class="sources">{before} → {after}</p>{whole}'
    if image.state == "changed":
        return (
            f'<p class="cap old"><span class="label">before</span> '
            f"{_text_or(image.caption_before)}{before}</p>"
            f'<p class="cap">{_after_text(image)}{after}</p>'
        )
    if image.state == "kept" and image.caption_after is None and image.caption_before:
        return (
            f'<p class="cap old">{html_text(image.caption_before)}{before}</p>'
            f'<p class="cap">{_after_text(image)}{after}</p>'
        )
    return f'<p class="cap">{_after_text(image)}{after}</p>'


def _diff_run(op: str, text: str) -> str:
    if op == "del":
        return f"<del>{html_text(text)}</del>"
    if op == "ins":
        return f"<ins>{html_text(text)}</ins>"
    return html_text(text)


def _after_text(image: ImageReview) -> str:
    if image.caption_after is not None:
        return html_text(image.caption_after)
    if image.state in ("added", "changed"):
        return '<span class="auto">Bria writes the caption after upload</span>'
    return '<span class="auto">Bria regenerates the caption</span>'


def _text_or(text: str | None) -> str:
    return html_text(text) if text else '<span class="auto">no caption</span>'


def _source_tag(source: str | None) -> str:
    if not source:
        return ""
    return f' <span class="tag source {html_text(source)}">{html_text(source)}</span>'


def _operations(plan: Plan) -> list[str]:
    if not plan.steps:
        return []
    items = []
    for step in plan.steps:
        after = (
            f' <span class="after">after {", ".join(step.depends_on)}</span>'
            if (step.depends_on)
            else ""
        )
        items.append(
            f"<li><code>{html_text(step.id)}</code> {html_text(describe_step(step))}{after}</li>"
        )
    return [
        f'<details class="operations"><summary>API operations, in order ({len(plan.steps)})'
        "</summary><ol>",
        *items,
        "</ol></details>",
    ]


def _unchanged(plan: Plan) -> list[str]:
    noops = [c for c in plan.changes if c.action == "noop"]
    if not noops:
        return []
    items = [f"<li><code>{html_text(c.address)}</code> {html_text(c.reason)}</li>" for c in noops]
    return [
        f'<details class="unchanged"><summary>Unchanged ({len(noops)})</summary><ul>',
        *items,
        "</ul></details>",
    ]
