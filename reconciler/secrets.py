"""Keeps the API token out of every output.

The token is registered once when it is read; `redact` replaces it (and any registered secret)
wherever text leaves the process: CLI messages, debug traces, plan files, logs. Its base64
(standard and URL-safe, padded or not) and percent-encoded forms are registered with it, since a
proxy or server quoting a header or URL back would show the token in one of those.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        _SECRETS.update(_encoded_forms(value))


def _encoded_forms(value: str) -> set[str]:
    raw = value.encode("utf-8")
    forms = {value, quote(value, safe=""), quote(value)}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update({text, text.rstrip("=")})
    return {form for form in forms if len(form) >= 4}


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
