"""Bad flags exit 1, not click's 2: with --detailed-exitcode, 2 means "changes".

Its own small module (click only) so the group in cli.py can use it without importing the
command helpers, which keeps `reconciler --version` fast.
"""

from __future__ import annotations

from typing import Any

import click


class ExitOneOnUsageError(click.Command):
    """Mixed into the CLI group: its own usage errors (`reconciler --nope`, raised while its
    context is made) exit 1; a subcommand's are set to 1 in `cli._Group.invoke`."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as err:
            setattr(err, "exit_code", 1)  # noqa: B010  (a ClassVar in click's stubs)
            raise
