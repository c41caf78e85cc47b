"""`reconciler validate` (placeholder: being written)."""

from __future__ import annotations

import click


@click.command(name="validate")
def validate() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")
