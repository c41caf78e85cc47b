"""Keeps the API token out of every output.

The token is registered once when it is read; `redact` replaces it (and any registered secret)
wherever text leaves the process: CLI messages, debug traces, plan files, logs.
"""

from __future__ import annotations

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
