"""Serve the emulator with uvicorn: in a daemon thread (embedding, tests) or in the foreground
(`reconciler emulator`).

The listening socket is bound before uvicorn starts, so port 0 gives a real port at once and
the URL can be printed or returned before the first request arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from reconciler.emulator.app import create_app
from reconciler.emulator.config import EmulatorConfig


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it small responses wait on delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


class PromptServer(uvicorn.Server):
    """uvicorn, but it stops at once when asked: uvicorn notices `should_exit` on a 0.1 s tick
    and then sleeps 0.1 s more while connections close, so every embedded emulator (each
    `--emulator` run, each test) paid about 0.2 s to stop. Signals still work: the tick stays."""

    _POLL_S = 0.005

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def request_exit(self) -> None:
        """From any thread: stop serving now."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's own shutdown, with short polls instead of its fixed 0.1 s sleeps
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 0)
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:
            if time.monotonic() > deadline:
                for task in state.tasks:
                    task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
                break
            await asyncio.sleep(self._POLL_S)
        if not self.force_exit:
            await self.lifespan.shutdown()


def uvicorn_server(app: Starlette) -> PromptServer:
    settings = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    return PromptServer(settings)


class EmulatorServer:
    """The emulator on a real socket, in a daemon thread; a context manager."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **knobs: Any,
    ) -> None:
        """`knobs` are EmulatorConfig's fields (token, training_seconds, latency, ...), with its
        defaults; an unknown one is a TypeError."""
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.config = EmulatorConfig(**knobs)
        self.url = ""
        self.app: Starlette | None = None
        self._server: PromptServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def root_url(self) -> str:
        """The URL without `/v1`, for `/_emulator/...` and `/files/...`."""
        return self.url.removesuffix("/v1")

    def start(self) -> str:
        if self._thread is not None:
            return self.url
        self._socket = bind_socket(self.host, self.port)
        self.url = url_of(self._socket)
        self.app = create_app(self.config, self.data_dir)
        self._server = uvicorn_server(self.app)
        sockets = [self._socket]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, name="bria-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Bria emulator did not start")
            time.sleep(0.005)
        return self.url

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.request_exit()
        self._thread.join(timeout=10)
        if self.app is not None:
            self.app.state.emulator.storage.close()
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
