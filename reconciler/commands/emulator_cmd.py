"""`reconciler emulator`: serve the local Bria emulator in the foreground.

Prints one line, `emulator listening on http://HOST:PORT/v1` (the real port when `--port 0`),
then serves until Ctrl-C or SIGTERM. The token comes from `--token` or `BRIA_EMULATOR_TOKEN`
and is never printed; without one, any non-empty `api_token` is accepted.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from pathlib import Path

import click

from reconciler.emulator.app import create_app
from reconciler.emulator.config import ConfigError, EmulatorConfig
from reconciler.emulator.server import bind_socket, url_of, uvicorn_server
from reconciler.errors import UsageError
from reconciler.secrets import register_secret


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reconciler" / "emulator"


@click.command(name="emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="State folder (SQLite + images) [default: $XDG_DATA_HOME/reconciler/emulator].",
)
@click.option(
    "--token",
    envvar="BRIA_EMULATOR_TOKEN",
    default=None,
    help="Accept only this api_token (env BRIA_EMULATOR_TOKEN); default: any non-empty token.",
)
@click.option("--training-seconds", default=30.0, show_default=True, type=float)
@click.option("--captions-seconds", default=0.2, show_default=True, type=float)
@click.option(
    "--generation-seconds",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Asynchronous (sync=false) generation results answer 404 until then.",
)
@click.option("--latency", default=0.0, show_default=True, type=float, help="Seconds per request.")
@click.option(
    "--failure-rate", default=0.0, show_default=True, type=float, help="500 before acting."
)
@click.option(
    "--lost-response-rate", default=0.0, show_default=True, type=float, help="Act, then 500."
)
@click.option(
    "--rate-limit-every", default=0, show_default=True, type=int, help="Every Nth request: 429."
)
@click.option("--retry-after", default=1.0, show_default=True, type=float)
@click.option(
    "--rate-limit-per-window",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bria's rate limit: requests per endpoint per window (0 = none; Free tier: 10).",
)
@click.option(
    "--rate-window-s",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Length of the sliding rate-limit window, in seconds.",
)
@click.option("--seed", default=None, type=int, help="Seed for reproducible faults.")
@click.option(
    "--api-profile",
    type=click.Choice(["reference", "current"]),
    default="reference",
    show_default=True,
    help="API generation to serve: 'reference' (the contract) or 'current' (Bria's published "
    "OpenAPI: training_mode, visual_schema, checkpoints, /v2 generation).",
)
def emulator(
    host: str,
    port: int,
    data_dir: Path | None,
    token: str | None,
    training_seconds: float,
    captions_seconds: float,
    generation_seconds: float,
    latency: float,
    failure_rate: float,
    lost_response_rate: float,
    rate_limit_every: int,
    retry_after: float,
    rate_limit_per_window: int,
    rate_window_s: float,
    seed: int | None,
    api_profile: str,
) -> None:
    """Serve a local emulator of Bria's Tailored Generation API."""
    register_secret(token)
    try:
        config = EmulatorConfig(
            token=token or None,
            training_seconds=training_seconds,
            captions_seconds=captions_seconds,
            generation_seconds=generation_seconds,
            latency=latency,
            failure_rate=failure_rate,
            lost_response_rate=lost_response_rate,
            rate_limit_every=rate_limit_every,
            retry_after=retry_after,
            rate_limit_per_window=rate_limit_per_window,
            rate_window_s=rate_window_s,
            seed=seed,
            api_profile=api_profile,
        )
    except ConfigError as err:
        raise UsageError(f"emulator: {err}") from None
    folder = data_dir or default_data_dir()
    try:
        app = create_app(config, folder)
    except (OSError, sqlite3.Error) as err:
        reason = (err.strerror if isinstance(err, OSError) else None) or str(err)
        raise UsageError(
            f"cannot keep the emulator's state in '{folder}': {reason}; choose another --data"
        ) from None
    try:
        sock = bind_socket(host, port)
    except OSError as err:
        raise UsageError(
            f"cannot listen on '{host}:{port}': {err.strerror}; choose another --port (0 = any)"
        ) from None
    server = uvicorn_server(app)
    # A stop asked for as soon as the line is out (before uvicorn has set up its own handlers)
    # is the server's too: it then stops right after starting. uvicorn handles SIGINT/SIGTERM
    # while serving and re-raises them once stopped, into this same handler, where they are
    # harmless: a requested stop exits with status 0.
    previous = {
        sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        click.echo(f"emulator listening on {url_of(sock)}")
        sys.stdout.flush()
        server.run(sockets=[sock])
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
