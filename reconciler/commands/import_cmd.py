"""`reconciler import`: write manifests for what the account already holds.

Read-only against Bria (list routes, then image downloads from `image_url`); it writes files
under `--out` and never overwrites one. Prints what it wrote, and what it left out with why.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.commands.invocation import (
    connection_options,
    connection_settings,
)
from reconciler.connection import open_client
from reconciler.render_escape import printable
from reconciler.secrets import redact


@click.command(name="import")  # bad flags exit 1: cli._Group.invoke
@click.option(
    "--project",
    "projects",
    multiple=True,
    metavar="NAME",
    help="Import only this project (repeat for several); default: every project.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Write one folder per project here.",
)
@connection_options
@click.pass_context
def import_account(
    ctx: click.Context,
    projects: tuple[str, ...],
    out_dir: str,
    api_url: str | None,
    token_file: str | None,
    use_emulator: bool,
) -> None:
    """Write manifests (and download images) for projects that already exist in Bria.

    Right after an import, `reconciler plan DIR --detailed-exitcode` exits 0: datasets are
    adopted by file name, completed models are protected. Never writes to the account, never
    overwrites a file.
    """
    from reconciler.importer.account import read_account
    from reconciler.importer.convert import convert_project
    from reconciler.importer.files import write_exports

    settings = connection_settings(ctx, api_url, token_file, use_emulator)
    with open_client(settings) as client:
        listings, skipped = read_account(client, list(dict.fromkeys(projects)))
        exports = [convert_project(listing) for listing in listings]
        written = write_exports(
            Path(out_dir),
            exports,
            client.base_url,
            progress=lambda line: click.echo(printable(redact(line)), err=True),
        )
    for line in written.lines:
        click.echo(printable(redact(line)))
    left_out = [*skipped, *(s for export in exports for s in export.skipped), *written.skipped]
    if left_out:
        click.echo(f"\nNot written ({len(left_out)}):")
        for item in left_out:
            # remote names are whatever the console allowed: no terminal escapes
            click.echo(printable(redact(f"  - {item.address}: {item.reason}")))
    if not exports:
        click.echo("No project was imported.")
        return
    datasets = sum(len(e.datasets) for e in exports)
    models = sum(len(e.models) for e in exports)
    click.echo(
        f"\nImported {len(exports)} project{'s' if len(exports) != 1 else ''}, "
        f"{datasets} dataset{'s' if datasets != 1 else ''} and "
        f"{models} model{'s' if models != 1 else ''} into {out_dir}. Check with: "
        f"reconciler validate {out_dir} && reconciler plan {out_dir} --detailed-exitcode"
    )
