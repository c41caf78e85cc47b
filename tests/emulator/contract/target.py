"""What the contract tests drive: a backend (`Target`) with its client and admin endpoints,
plus small helpers (polling, test images). The fixtures that build targets are in conftest.py.
"""

from __future__ import annotations

import functools
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from PIL import Image, ImageDraw

from reconciler.client import BriaClient

TOKEN = "t0k-contract-8e21f4"
VISUAL_SCHEMA = '{"style": "flat vector illustration", "colors": ["purple", "teal"]}'
TRAINING_SECONDS = 0.1
DEFAULT_KNOBS: dict[str, Any] = {
    "training_seconds": TRAINING_SECONDS,
    "captions_seconds": 0.1,
    "stopping_seconds": 0.1,
    "generation_seconds": 0.0,
    "latency": 0.0,
    "failure_rate": 0.0,
    "lost_response_rate": 0.0,
    "rate_limit_every": 0,
    "retry_after": 0.0,
    "seed": 1,
}
T = TypeVar("T")


class SharedTransport(httpx.BaseTransport):
    """Lends the in-process app's transport to several clients without letting them close it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        pass


@dataclass
class Target:
    """One backend under test, its client, and (for the emulator) its admin endpoints."""

    kind: str
    base_url: str
    transport: httpx.BaseTransport | None
    admin: httpx.Client | None
    prefix: str
    token: str
    clients: list[BriaClient] = field(default_factory=list)
    profile: str = "reference"  # the API generation served: reference | current

    @property
    def client(self) -> BriaClient:
        if not self.clients:
            self.new_client()
        return self.clients[0]

    def new_client(self, token: str | None = None, **options: Any) -> BriaClient:
        settings: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.2, **options}
        made = BriaClient(self.base_url, token or self.token, transport=self.transport, **settings)
        self.clients.append(made)
        return made

    @property
    def current(self) -> bool:
        """The backend speaks Bria's current API generation (the published OpenAPI)."""
        return self.profile == "current"

    @property
    def min_images(self) -> int:
        """Images a dataset needs to be completed: 1 in the reference, 5 in the current one."""
        return 5 if self.current else 1

    def model_kwargs(self, version: str = "light") -> dict[str, str]:
        """create_model's generation field: `training_version`, or (current generation) the
        `training_mode` that stands for it (max -> expert, light -> fully_automated)."""
        if self.current:
            return {"training_mode": "expert" if version == "max" else "fully_automated"}
        return {"training_version": version}

    def caption(self, text: str) -> str:
        """A manual caption: free text in the reference, a JSON structure in the current one."""
        return json.dumps({"caption": text}) if self.current else text

    def prepare(self, dataset_id: int) -> None:
        """What a new dataset needs before uploads: the current generation's visual schema."""
        if self.current:
            self.client.update_dataset(dataset_id, visual_schema=VISUAL_SCHEMA)

    def name(self, label: str) -> str:
        """A resource name unique to this run (the real API is shared)."""
        return f"{self.prefix}{label}"

    def emulator_only(self, why: str = "needs the emulator's knobs or fast training") -> None:
        if self.admin is None:
            pytest.skip(why)

    def configure(self, **knobs: Any) -> None:
        assert self.admin is not None
        self.admin.put("/_emulator/config", json=knobs).raise_for_status()

    def state(self) -> dict[str, Any]:
        assert self.admin is not None
        answer: dict[str, Any] = self.admin.get("/_emulator/state").json()
        return answer

    def fault_stats(self) -> dict[str, Any]:
        assert self.admin is not None
        answer: dict[str, Any] = self.admin.get("/_emulator/stats").json()
        return answer

    def fetch(self, url: str) -> httpx.Response:
        """GET a URL the API handed out (image, thumbnail, result) without the token."""
        if self.admin is not None and self.kind == "inprocess":
            return self.admin.get(httpx.URL(url).raw_path.decode())
        return httpx.get(url, timeout=30, verify=False)

    def close(self) -> None:
        for made in self.clients:
            made.close()


def wait_for(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 10.0) -> T:
    """Poll `read` until `done(value)`; the last value is returned either way."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


@functools.lru_cache(maxsize=256)
def make_png(seed: int = 0, size: tuple[int, int] = (1024, 1024), fmt: str = "PNG") -> bytes:
    """A small-to-encode image, distinct per seed (made once per worker: 12 ms each, and the
    suite asks for the same few hundreds of times)."""
    image = Image.new("RGB", size, ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    draw = ImageDraw.Draw(image)
    step = 64 + seed % 64
    draw.rectangle((step, step, size[0] // 2, size[1] // 2), fill=(255 - seed % 256, 20, 200))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()
