"""`reconciler schema generate PROJECT/DATASET`: have Bria write a dataset's visual schema, for
review.

Bria's current API generation captions a dataset under a visual schema made from 5-10 sample
images. This command sends them (`--images`, or a pick of the dataset's folder, see
`reconciler.visual_schema_files`) to `POST /tailored-gen/generate_visual_schema` and writes the
answer to a JSON file beside the manifest, to be reviewed and committed. It changes nothing in
the account: the schema reaches Bria only when a manifest's spec.visual_schema points at it and
`apply` runs. Manifest errors that a missing schema causes (a file not written yet, a completed
dataset without one) do not stop it; a dataset the manifests do not declare does.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from reconciler.client import NotFound
from reconciler.commands.invocation import connection_options, connection_settings
from reconciler.connection import open_client
from reconciler.errors import ReconcilerError, UsageError
from reconciler.secrets import redact


@click.group(name="schema")
def schema() -> None:
    """Visual schemas of Bria's current API generation (schema generate)."""


@schema.command(name="generate")
@click.argument("address", metavar="PROJECT/DATASET")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--images",
    "images",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="A sample image to send, a file or a public http(s) URL (repeat 5-10 times); default: "
    "up to 10 of the dataset's images.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the schema here (default: the file spec.visual_schema names, else "
    "<dataset>.visual-schema.json beside the manifest).",
)
@connection_options
@click.pass_context
def generate(
    ctx: click.Context,
    address: str,
    paths: tuple[str, ...],
    images: tuple[str, ...],
    out: str | None,
    api_url: str | None,
    token_file: str | None,
    use_emulator: bool,
) -> None:
    """Write the visual schema Bria makes from 5-10 of a dataset's images to a file for review.

    Nothing is changed in the account: point spec.visual_schema at the file (and commit it) to
    have `apply` set it.
    """
    from reconciler.manifest import load_manifests
    from reconciler.manifest.diagnostics import did_you_mean
    from reconciler.visual_schema_files import sample_images, schema_file_text, schema_output_path

    result = load_manifests(list(paths) or ["."])
    declared = {f"{d.project}/{d.name}": d for d in result.state.datasets if not d.delete}
    dataset = declared.get(address)
    if dataset is None:
        for diagnostic in result.diagnostics:
            if diagnostic.severity == "error":
                click.secho(redact(str(diagnostic)), fg="red", err=True)
        raise UsageError(
            f"dataset '{address}' is not declared in the manifests"
            f"{did_you_mean(address, list(declared))}: give it as PROJECT/DATASET"
            + (", one of " + ", ".join(f"'{name}'" for name in declared) if declared else "")
        )
    if dataset.source is None:
        raise UsageError(f"dataset '{address}' has no manifest file to write beside")
    chosen = sample_images(dataset, images, address)
    data = [path if _is_url(path) else _read(path) for path in chosen]
    target = schema_output_path(dataset, Path(dataset.source.file), out)
    settings = connection_settings(ctx, api_url, token_file, use_emulator)
    with open_client(settings) as client:
        try:
            visual_schema = client.generate_visual_schema(data)
        except NotFound as err:
            hint = (
                "the embedded emulator serves the reference by default: add "
                "--emulator-profile current"
                if use_emulator
                else "the account's API does not offer visual schemas (the reference generation)"
            )
            raise ReconcilerError(f"{err}; {hint}") from err
    text = schema_file_text(visual_schema)
    before = target.read_text(encoding="utf-8") if target.is_file() else None
    _write(target, text)
    state = "unchanged" if before == text else ("updated" if before is not None else "written")
    shown = os.path.relpath(target)
    click.echo(
        f"{shown}: {state} (the visual schema Bria made from {len(chosen)} images of "
        f"dataset '{address}')"
    )
    if dataset.visual_schema_file and Path(dataset.visual_schema_file) == target.resolve():
        click.echo(
            "Review it and commit it: the next 'apply' sets it on the dataset (a change on a "
            "completed dataset makes a new version)."
        )
    else:
        click.echo(
            f"Review it, then point the dataset's spec.visual_schema at it in "
            f"{dataset.source.file} to have 'apply' set it; nothing was changed in the account."
        )


def _is_url(path: str) -> bool:
    """A public image URL, which Generate Visual Schema takes as given (Bria fetches it)."""
    return path.startswith(("https://", "http://"))


def _read(path: str) -> bytes:
    """A sample image's bytes, once it is known to be one Bria takes (checked here, so a wrong
    file is named before any call)."""
    from reconciler.manifest.image_probe import probe_image

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise UsageError(f"image '{path}' cannot be read ({err.strerror or err})") from None
    problem = probe_image(path).problem
    if problem is not None:
        raise UsageError(
            f"image '{path}' {problem}; Generate Visual Schema takes jpeg, png or webp images"
        )
    return data


def _write(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(target)
    except OSError as err:
        raise ReconcilerError(
            f"cannot write the visual schema to '{target}' ({err.strerror or err}); choose "
            "another --out"
        ) from None
