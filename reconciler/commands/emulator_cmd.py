"""`reconciler emulator` (placeholder: being written)."""

from __future__ import annotations

import click


@click.command(name="emulator")
def emulator() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")
