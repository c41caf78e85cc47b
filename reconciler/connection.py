"""Where `plan` and `apply` talk to: the API URL, the token, or the embedded emulator.

The token is read from `--token-file` or `BRIA_API_TOKEN` and registered as a secret the moment it
is read, so `redact` removes it from every message that follows. `--emulator` starts the emulator
in-process (data under `.reconciler/emulator/` at the top of the git work tree, so `apply` then
`plan`, from any folder of the repository, see the same account) with
a random per-run token that is registered as a secret too: no token is needed from the user.
"""

from __future__ import annotations

import os
import secrets as token_generator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError
from reconciler.secrets import redact, register_secret
from reconciler.workspace import emulator_data_dir, ensure_state_dir

if TYPE_CHECKING:
    from reconciler.client import BriaClient
    from reconciler.client.pacing import RateLimit

DEFAULT_API_URL = "https://engine.prod.bria-api.com/v1"
EMULATOR_TRAINING_SECONDS_ENV = "RECONCILER_EMULATOR_TRAINING_SECONDS"
DEFAULT_EMULATOR_TRAINING_SECONDS = 20.0


class ConnectionSettingsError(ReconcilerError):
    """No usable token, or an unreadable token file."""


@dataclass(frozen=True)
class ConnectionSettings:
    """What the command line and the environment said; resolved by `open_client`."""

    api_url: str | None = None
    token_file: str | None = None
    use_emulator: bool = False
    debug: bool = False
    emulator_profile: str = "reference"  # with use_emulator: reference | current
    rate_limit: RateLimit | None = None  # None: learned from Bria's 429s
    max_rate_wait: float | None = None  # None: the client's default (pacing.DEFAULT_MAX_WAIT)


def resolve_api_url(flag_value: str | None) -> str:
    """`--api-url`, else `BRIA_API_URL`, else Bria's production URL."""
    url = flag_value or os.environ.get("BRIA_API_URL") or DEFAULT_API_URL
    return url.rstrip("/")


def resolve_token(token_file: str | None) -> str:
    """`--token-file FILE` (first line, stripped), else `BRIA_API_TOKEN`; registered as secret."""
    if token_file:
        try:
            text = Path(token_file).read_text(encoding="utf-8")
        except OSError as err:
            raise ConnectionSettingsError(
                f"token file '{token_file}' cannot be read ({err.strerror or err}); "
                "check the path given to --token-file"
            ) from None
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
        register_secret(token)
        if not token:
            raise ConnectionSettingsError(
                f"token file '{token_file}' is empty; put the Bria API token in it"
            )
        return token
    token = os.environ.get("BRIA_API_TOKEN", "").strip()
    register_secret(token)
    if not token:
        raise ConnectionSettingsError(
            "no API token: set BRIA_API_TOKEN or pass --token-file FILE "
            "(or use --emulator to run against the embedded emulator)"
        )
    return token


def emulator_training_seconds() -> float:
    raw = os.environ.get(EMULATOR_TRAINING_SECONDS_ENV)
    if not raw:
        return DEFAULT_EMULATOR_TRAINING_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ConnectionSettingsError(
            f"{EMULATOR_TRAINING_SECONDS_ENV} '{raw}' is not a number of seconds; set it to e.g. 20"
        ) from None
    if value < 0:
        raise ConnectionSettingsError(
            f"{EMULATOR_TRAINING_SECONDS_ENV} '{raw}' is negative; set it to e.g. 20"
        )
    return value


def rate_limit_notice(line: str) -> None:
    """Where "waiting N s for Bria's rate limit on ENDPOINT" goes: stderr, one line."""
    import click

    click.secho(line, fg="yellow", err=True)


def debug_printer(enabled: bool) -> Callable[[str], None] | None:
    """A `debug_log` for the client that writes redacted lines to stderr, or None."""
    if not enabled:
        return None
    import click

    def log(line: str) -> None:
        click.echo(f"debug: {redact(line)}", err=True)

    return log


@contextmanager
def open_client(settings: ConnectionSettings) -> Iterator[BriaClient]:
    """A connected `BriaClient`; with `use_emulator`, the embedded emulator runs meanwhile."""
    from reconciler.client import BriaClient

    log = debug_printer(settings.debug)

    def connect(url: str, token: str, token_source: str | None = None) -> BriaClient:
        return BriaClient(
            url,
            token,
            token_source=token_source or "BRIA_API_TOKEN",
            debug_log=log,
            rate_limit=settings.rate_limit,
            max_rate_wait=settings.max_rate_wait,
            notice=rate_limit_notice,
        )

    if settings.use_emulator:
        from reconciler.emulator.server import EmulatorServer

        token = token_generator.token_hex(16)
        register_secret(token)
        ensure_state_dir()
        data_dir = emulator_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True)
        server = EmulatorServer(
            data_dir,
            token=token,
            training_seconds=emulator_training_seconds(),
            api_profile=settings.emulator_profile,
        )
        url = server.start()
        try:
            with connect(url, token) as client:
                yield client
        finally:
            server.stop()
        return
    url = resolve_api_url(settings.api_url)
    token = resolve_token(settings.token_file)
    # a 401 anywhere in the run (plan, apply's steps, --wait) names where the token came from
    source = f"the token in --token-file '{settings.token_file}'" if settings.token_file else None
    with connect(url, token, source) as client:
        yield client
