"""`status` as text (one table per project) or JSON (`schemas/status.schema.json`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from reconciler.status.report import ModelStatus, StatusReport, Training

PREFIX_WIDTH = 48


def report_to_json(report: StatusReport) -> dict[str, Any]:
    return dataclasses.asdict(report)


def render_json(report: StatusReport) -> str:
    return json.dumps(report_to_json(report), indent=2)


def duration(seconds: float) -> str:
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _since(training: Training | None) -> str:
    if training is None or training.elapsed_seconds is None:
        return "-"
    return duration(training.elapsed_seconds)


def _left(model_status: str, training: Training | None) -> str:
    if training is None or training.elapsed_seconds is None:
        return "-"
    if training.expected_left_seconds is None:
        return "1-3h (reference)"
    if training.expected_left_seconds == 0:
        return "any time now"
    return f"~{duration(training.expected_left_seconds)}"


def _prefix(value: str | None) -> str:
    if not value:
        return "-"
    shown = value if len(value) <= PREFIX_WIDTH else value[: PREFIX_WIDTH - 3] + "..."
    return json.dumps(shown, ensure_ascii=False)


def _model_row(model: ModelStatus) -> list[str]:
    return [
        model.name,
        model.current or "-",
        str(model.id) if model.id is not None else "-",
        model.status,
        model.training_version or "-",
        model.dataset_version or "-",
        _since(model.training),
        _left(model.status, model.training),
        _prefix(model.generation_prefix),
    ]


def render_text(report: StatusReport) -> str:
    lines: list[str] = []
    if not report.projects:
        return "The manifests declare no project.\n"
    for project in report.projects:
        if project.id is None:
            lines.append(f"project {project.name}: not in the account yet (run 'reconciler apply')")
            lines.append("")
            continue
        lines.append(
            f"project {project.name} (id {project.id}, {project.ip_type}, {project.ip_medium})"
        )
        if project.datasets:
            rows = [
                [
                    d.name,
                    d.current or "-",
                    str(d.id) if d.id is not None else "-",
                    d.status,
                    str(d.image_count) if d.image_count is not None else "-",
                    d.captions_update_status or "-",
                    ", ".join(f"{o.name} ({o.status})" for o in d.older_versions) or "-",
                ]
                for d in project.datasets
            ]
            header = ["DATASET", "VERSION", "ID", "STATUS", "IMAGES", "CAPTIONS", "OLDER"]
            lines += _table(header, rows)
        if project.models:
            header = ["MODEL", "VERSION", "ID", "STATUS", "TRAINING", "DATASET", "SINCE START",
                      "LEFT", "PREFIX"]  # fmt: skip
            lines += _table(header, [_model_row(m) for m in project.models])
            for model in project.models:
                if model.older_versions:
                    older = ", ".join(f"{o.name} ({o.status})" for o in model.older_versions)
                    lines.append(f"  older versions of {model.name}: {older}")
        lines.append("")
    if report.superseded_training:
        lines.append("Superseded versions still training:")
        for old in report.superseded_training:
            since = _since(old.training)
            lines.append(
                f"  {old.project}/{old.version} (id {old.id}): {old.status}"
                + (f" for {since}" if since != "-" else "")
                + f"; the current version of '{old.model}' is newer (prune it with apply --prune)"
            )
        lines.append("")
    return "\n".join(lines)
