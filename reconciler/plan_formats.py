"""One plan, every format: the single place `plan` and `show` turn a `Plan` into output.

`reconciler show PLANFILE` must print exactly what `plan` printed when it saved that plan, so
both commands call `render_plan` and nothing else decides how a format looks. Every format is
redacted here (the API token never reaches the output, whatever a manifest holds).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from reconciler.secrets import redact

if TYPE_CHECKING:
    from reconciler.plan import Plan

FORMATS = ("text", "json", "markdown", "html")


def render_plan(plan: Plan, output_format: str, *, color: bool = False) -> str:
    """The plan in `output_format` (one of FORMATS), without a trailing newline added."""
    if output_format == "json":
        from reconciler.plan_file import plan_to_json

        return redact(json.dumps(plan_to_json(plan), indent=2, sort_keys=False))
    if output_format == "markdown":
        from reconciler.render_markdown import render_markdown

        return redact(render_markdown(plan))
    if output_format == "html":
        from reconciler.render_html import render_html
        from reconciler.thumbnails import placeholder, thumbnails

        paths = [i.path for c in plan.changes for i in c.images if i.path is not None]
        placeholders = {kind: placeholder(kind) for kind in ("removed", "missing")}
        return redact(render_html(plan, thumbnails(paths), placeholders))
    from reconciler.render import render_text

    return redact(render_text(plan, color))
