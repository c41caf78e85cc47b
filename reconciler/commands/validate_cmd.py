"""`reconciler validate`: check manifests and image folders locally (no token, no network).

Prints every diagnostic as `file:line:col: severity: message` and a summary line, or one JSON
object with `--format json`; exits 0 when there is no error (warnings allowed), 1 otherwise.
The image digest cache in `.reconciler/cache` is shared with plan/apply, so validating first
makes the following plan faster.
"""

from __future__ import annotations

import json

import click

from reconciler.manifest import Diagnostic, LoadResult, load_manifests
from reconciler.manifest.discovery import describe_skipped
from reconciler.wording import plural
from reconciler.workspace import cache_dir

_COLOURS = {"error": "red", "warning": "yellow"}


@click.command(name="validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for machines.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail on YAML files and documents that are not manifests (default: skip, list them).",
)
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], output_format: str, strict: bool) -> None:
    """Check manifests under PATHS (default: the current directory) without contacting Bria."""
    from reconciler.commands.invocation import prepare_state_dir

    usable = prepare_state_dir()
    result = load_manifests(
        paths or (".",), cache_dir=cache_dir() if usable else None, strict=strict
    )
    if output_format == "json":
        click.echo(json.dumps(render_json(result), indent=2))
    else:
        for diagnostic in result.diagnostics:
            click.echo(_styled(diagnostic))
        if result.skipped:
            click.echo(describe_skipped(result.skipped))
        click.echo(summary(result))
    ctx.exit(0 if result.ok else 1)


def summary(result: LoadResult) -> str:
    """`2 errors, 1 warning in 3 files`, plus what was declared when there is no error."""
    line = (
        f"{plural(len(result.errors), 'error')}, {plural(len(result.warnings), 'warning')} "
        f"in {plural(len(result.files), 'file')}"
    )
    if not result.ok:
        return line
    state = result.state
    images = sum(len(d.images) for d in state.datasets)
    return (
        f"{line}: {plural(len(state.projects), 'project')}, "
        f"{plural(len(state.datasets), 'dataset')}, {plural(len(state.models), 'model')}, "
        f"{plural(images, 'image')}"
    )


def render_json(result: LoadResult) -> dict[str, object]:
    return {
        "valid": result.ok,
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "files": list(result.files),
        "skipped": list(result.skipped),
        "diagnostics": [
            {
                "file": d.file,
                "line": d.line,
                "col": d.col,
                "severity": d.severity,
                "message": d.message,
            }
            for d in result.diagnostics
        ],
    }


def _styled(diagnostic: Diagnostic) -> str:
    severity = click.style(diagnostic.severity, fg=_COLOURS[diagnostic.severity], bold=True)
    return f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}: {severity}: {diagnostic.message}"
