"""The samples page (HTML, images beside it) and its markdown summary for a pull-request comment.

Rows are sample prompts, columns are model versions (current first, then the previous one), so a
reviewer sees old and new side by side. Pure: the images are given as paths relative to the page.
Every text from the manifest or the account is escaped; the summary stays under GitHub's comment
limit (65,536 characters) by cutting rows, saying how many were cut.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.samples.collect import ModelSamples
from reconciler.state import SamplePrompt

MARKDOWN_LIMIT = 60_000


@dataclass(frozen=True)
class ShownImage:
    path: str  # relative to the page
    seed: int | None


Images = Mapping[str, Sequence[ShownImage]]  # cache key -> images


def _row_title(sample: SamplePrompt) -> str:
    return sample.name or sample.prompt


def _params(sample: SamplePrompt) -> str:
    parts = [f"seed {sample.seed}"]
    if sample.num_results != 1:
        parts.append(f"{sample.num_results} results")
    if sample.aspect_ratio:
        parts.append(sample.aspect_ratio)
    if sample.steps_num is not None:
        parts.append(f"{sample.steps_num} steps")
    if sample.fast is not None:
        parts.append("fast" if sample.fast else "not fast")
    if sample.vector:
        parts.append("vector")
    return ", ".join(parts)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 0.5em; vertical-align: top; text-align: left; }
th.version { min-width: 260px; }
td img { width: 256px; height: auto; display: block; margin-bottom: 0.25em; }
.prompt { max-width: 22em; }
.meta, .problem, .note { color: #666; font-size: 0.85em; }
.problem { color: #a00; }
"""


def render_html(models: Sequence[ModelSamples], images: Images) -> str:
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Model samples</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Model samples</h1>",
    ]
    if not models:
        out.append("<p>No declared model has <code>spec.samples</code>.</p>")
    for model in models:
        out.append(f"<h2>{html.escape(model.project)}/{html.escape(model.model)}</h2>")
        if model.note:
            out.append(f'<p class="note">{html.escape(model.note)}</p>')
        if not model.columns:
            continue
        out.append("<table><tr><th>prompt</th>")
        for column in model.columns:
            record = column.version.record
            out.append(
                f'<th class="version">{html.escape(column.label)} ({column.role})<br>'
                f'<span class="meta">model id {record.id}, {html.escape(record.status)}, '
                f"{html.escape(record.training_version or '')}</span></th>"
            )
        out.append("</tr>")
        for row, sample in enumerate(model.samples):
            out.append(
                f'<tr><td class="prompt"><b>{html.escape(_row_title(sample))}</b><br>'
                f"{html.escape(sample.prompt)}<br>"
                f'<span class="meta">{html.escape(_params(sample))}</span></td>'
            )
            for index in range(len(model.columns)):
                out.append(f"<td>{_html_cell(model, row, index, images)}</td>")
            out.append("</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_cell(model: ModelSamples, row: int, column: int, images: Images) -> str:
    cell = model.cell(row, column)
    if cell.problem or cell.key is None:
        return f'<span class="problem">{html.escape(cell.problem or "not generated")}</span>'
    shown = images.get(cell.key, ())
    if not shown:
        return '<span class="problem">not generated</span>'
    parts = []
    for image in shown:
        seed = f"seed {image.seed}" if image.seed is not None else ""
        parts.append(
            f'<a href="{html.escape(image.path)}"><img src="{html.escape(image.path)}" '
            f'alt="{html.escape(model.samples[row].prompt)}"></a>'
            f'<span class="meta">{html.escape(seed)}</span>'
        )
    return "".join(parts)


def _md(text: str) -> str:
    """Text safe inside a markdown table cell."""
    escaped = html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")
    for char in "`*_[]":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def render_markdown(
    models: Sequence[ModelSamples],
    images: Images,
    *,
    generated: int,
    cached: int,
    page: str = "index.html",
) -> str:
    lines = [
        "## Model samples",
        "",
        f"{generated} image{'s' if generated != 1 else ''} generated, {cached} from the cache. "
        f"Open `{page}` (attached to this run) to see the versions side by side.",
        "",
    ]
    if not models:
        lines.append("No declared model has `spec.samples`.")
    size = sum(len(line) + 1 for line in lines)
    cut = 0
    for model in models:
        block = [f"### {_md(model.project)}/{_md(model.model)}", ""]
        if model.note:
            block += [f"_{_md(model.note)}_", ""]
        if model.columns:
            header = ["prompt", "parameters"] + [
                f"{_md(c.label)} ({c.role})" for c in model.columns
            ]
            block.append("| " + " | ".join(header) + " |")
            block.append("|" + "---|" * len(header))
            for row, sample in enumerate(model.samples):
                title = _md(sample.prompt)
                if sample.name and sample.name != sample.prompt:
                    title = f"**{_md(sample.name)}**: {title}"
                cells = [title, _md(_params(sample))]
                for index in range(len(model.columns)):
                    cells.append(_md_cell(model, row, index, images))
                block.append("| " + " | ".join(cells) + " |")
            block.append("")
        block_size = sum(len(line) + 1 for line in block)
        if size + block_size > MARKDOWN_LIMIT:
            cut += 1
            continue
        lines += block
        size += block_size
    if cut:
        lines.append(f"_{cut} more model(s) left out to fit a comment: see `{page}`._")
    return "\n".join(lines).rstrip() + "\n"


def _md_cell(model: ModelSamples, row: int, column: int, images: Images) -> str:
    cell = model.cell(row, column)
    if cell.problem or cell.key is None:
        return "not generated: " + _md(cell.problem or "no request")
    shown = images.get(cell.key, ())
    if not shown:
        return "not generated"
    seeds = [str(image.seed) for image in shown if image.seed is not None]
    count = f"{len(shown)} image{'s' if len(shown) != 1 else ''}"
    return count + (f" (seed {', '.join(seeds)})" if seeds else "")
