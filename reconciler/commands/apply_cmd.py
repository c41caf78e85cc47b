"""`reconciler apply` (placeholder: being written)."""

from __future__ import annotations

import click


@click.command(name="apply")
def apply() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")
