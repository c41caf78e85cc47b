"""Bad flags of the commands that read the account for a person (status, generate, samples):
one line naming the flag and `--help`, exit 1, instead of click's usage block.

These commands are run by hand and in CI logs where the one line is what is read; exit 1 (not
click's 2) as everywhere (see `cli._Group.invoke`).
"""

from __future__ import annotations

from typing import Any

import click

from reconciler.errors import UsageError


class OneLineUsageErrors(click.Command):
    """A bad flag value is refused in one line (`error: ... (see 'reconciler X --help')`)."""

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
            raise UsageError(
                f"{err.format_message()} (see 'reconciler {info_name} --help')"
            ) from err
