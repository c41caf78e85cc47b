"""`reconciler plan` (placeholder: being written)."""

from __future__ import annotations

import click


@click.command(name="plan")
def plan() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")
