"""`reconciler captions pull`: bring Bria's current captions into the repository as sidecars.

The review of a draft dataset's captions happens in a pull request, not in the console: pull
writes each image's current caption to `<stem>.txt` beside it (what to write is decided by the
pure `reconciler.caption_pull`), reports every file it wrote and every image it skipped with
the reason, and only ever reads from the API.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from reconciler.commands.invocation import connection_options, connection_settings, load_desired
from reconciler.connection import open_client
from reconciler.errors import ReconcilerError, UsageError
from reconciler.secrets import redact


@click.group(name="captions")
def captions() -> None:
    """Work with image captions (pull Bria's captions into sidecar files)."""


@captions.command(name="pull")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    metavar="PROJECT/NAME",
    help="Only this declared dataset (repeatable); default: every declared dataset.",
)
@connection_options
@click.pass_context
def pull(
    ctx: click.Context,
    paths: tuple[str, ...],
    datasets: tuple[str, ...],
    api_url: str | None,
    token_file: str | None,
    use_emulator: bool,
) -> None:
    """Write each image's current caption in Bria to <stem>.txt beside the local image.

    Images whose caption spec.captions gives are left alone. Reads the account, never writes
    to it; after a pull, `plan` shows no caption change for the pulled datasets.
    """
    from reconciler.caption_pull import dataset_address, plan_pull, sidecar_paths
    from reconciler.live import read_live_state
    from reconciler.manifest.diagnostics import did_you_mean

    desired = load_desired(paths)
    declared = [dataset_address(d) for d in desired.datasets]
    for wanted in datasets:
        if wanted not in declared:
            raise UsageError(
                f"--dataset '{wanted}' is not declared in the manifests"
                f"{did_you_mean(wanted, declared)}: give it as PROJECT/NAME, one of "
                + ", ".join(f"'{name}'" for name in declared)
            )
    settings = connection_settings(ctx, api_url, token_file, use_emulator)
    with open_client(settings) as client:
        live = read_live_state(client, desired)
    current = {path: _read_text(path) for path in sidecar_paths(desired)}
    pulls = plan_pull(desired, live, current, only=set(datasets))
    wrote = unchanged = skipped = skipped_datasets = 0
    for dataset in pulls:
        if dataset.skipped:
            skipped_datasets += 1
            click.echo(f"dataset {dataset.address}: skipped: {dataset.skipped}")
            continue
        click.echo(f"dataset {dataset.address} (version '{dataset.version}', {dataset.status}):")
        for image in dataset.images:
            shown = _shown_path(image.sidecar)
            if image.action == "write":
                _write_text(image.sidecar, image.caption or "")
                wrote += 1
                note = f" ({image.why})" if image.why else ""
                click.echo(redact(f"  wrote {shown}{note}"))
            elif image.action == "unchanged":
                unchanged += 1
                click.echo(f"  unchanged {shown} (already Bria's caption)")
            else:
                skipped += 1
                click.echo(f"  skipped {image.file_name}: {image.why}")
    line = (
        f"Pulled captions: wrote {_count(wrote, 'sidecar')}, {unchanged} already up to date, "
        f"skipped {_count(skipped, 'image')}"
    )
    if skipped_datasets:
        line += f" and {_count(skipped_datasets, 'dataset')}"
    click.echo(line + ". Nothing was changed in Bria.")


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""  # unreadable or not UTF-8: differs from any caption, so it is rewritten


def _write_text(path: str, text: str) -> None:
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError as err:
        raise ReconcilerError(
            f"caption file '{_shown_path(path)}' cannot be written: {err.strerror or err}: "
            "check the folder's permissions"
        ) from err


def _shown_path(path: str) -> str:
    """Relative to the working directory when inside it, else as is."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return path
