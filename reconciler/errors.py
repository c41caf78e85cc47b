"""Errors the CLI reports as one red line (exit 1) instead of a traceback.

Every layer raises a subclass of `ReconcilerError` for a problem the user can act on; the CLI
catches them in one place. Anything else is a bug and shows a traceback only with `--debug`.
"""

from __future__ import annotations


class ReconcilerError(Exception):
    """A problem the user can fix; `str(err)` is the whole message."""

    exit_code = 1


class UsageError(ReconcilerError):
    """Bad flags or arguments."""


class ManifestError(ReconcilerError):
    """Manifests that do not validate (details already printed as diagnostics)."""
