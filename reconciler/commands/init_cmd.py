"""`reconciler init`: set up `.reconciler/` at the repository root and list it in `.gitignore`.

The folder holds the image digest cache, the apply lock and the embedded emulator's account; it
ignores itself in git already (`.reconciler/.gitignore`), and `init` also adds the line to the
repository's own `.gitignore`, where people look for it.
"""

from __future__ import annotations

import click

from reconciler.workspace import GITIGNORE_LINE, add_gitignore_line, ensure_state_dir


@click.command(name="init")
def init() -> None:
    """Create .reconciler/ and add it to .gitignore."""
    folder, created = ensure_state_dir()
    root = folder.parent
    click.echo(f"{'created' if created else 'found'} {folder}")
    if add_gitignore_line(root):
        click.echo(f"added '{GITIGNORE_LINE}' to {root / '.gitignore'}")
    else:
        click.echo(f"{root / '.gitignore'} already lists '{GITIGNORE_LINE}'")
