"""Small helpers for tests that drive the emulator over HTTP (ours and other suites').

`png` makes in-memory images; `EmulatorSession` is a plain httpx client bound to a running
`EmulatorServer`, with the admin endpoints and a few setup shortcuts (create a project, a
dataset with N images, a trained model) so tests state only what they check.
"""

from __future__ import annotations

import base64
import functools
import io
import time
from typing import Any

import httpx
from PIL import Image

from reconciler.emulator.server import EmulatorServer

CHARACTER_PROJECT: dict[str, Any] = {
    "project_name": "Branded Character",
    "ip_name": "Lora",
    "ip_description": "A female character with purple hair",
    "ip_medium": "illustration",
    "ip_type": "defined_character",
}


@functools.lru_cache(maxsize=1024)
def png(
    size: tuple[int, int] = (1024, 1024),
    color: tuple[int, ...] = (120, 40, 200),
    mode: str = "RGB",
    fmt: str = "PNG",
) -> bytes:
    """A solid-colour image (1024x1024 PNG is about 4 KB); made once per process (encoding one
    takes about 11 ms, and tests ask for the same ones again and again)."""
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class EmulatorSession:
    """An httpx client for one running emulator, authenticated with `token`."""

    def __init__(self, server: EmulatorServer, token: str = "test-token") -> None:
        self.server = server
        # plain http: verify=False spares loading the CA bundle (~20 ms per client)
        self.http = httpx.Client(
            base_url=server.url, headers={"api_token": token}, timeout=10, verify=False
        )
        self.admin = httpx.Client(base_url=server.root_url, timeout=10, verify=False)

    def close(self) -> None:
        self.http.close()
        self.admin.close()

    # plain verbs on /v1 paths
    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.put(path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.delete(path, **kwargs)

    # admin
    def reset(self) -> None:
        self.admin.post("/_emulator/reset").raise_for_status()

    def state(self) -> dict[str, Any]:
        response = self.admin.get("/_emulator/state")
        response.raise_for_status()
        return dict(response.json())

    def stats(self) -> dict[str, Any]:
        return dict(self.admin.get("/_emulator/stats").json())

    def configure(self, **knobs: Any) -> httpx.Response:
        return self.admin.put("/_emulator/config", json=knobs)

    # setup shortcuts (each asserts its own success)
    def project(self, **overrides: Any) -> dict[str, Any]:
        response = self.post("/tailored-gen/projects", {**CHARACTER_PROJECT, **overrides})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def dataset(self, project_id: int, name: str = "dataset v1") -> dict[str, Any]:
        response = self.post("/tailored-gen/datasets", {"project_id": project_id, "name": name})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def upload(self, dataset_id: int, data: bytes | None = None, name: str | None = None) -> Any:
        body: dict[str, Any] = {"file": b64(data if data is not None else png())}
        if name is not None:
            body["image_name"] = name
        return self.post(f"/tailored-gen/datasets/{dataset_id}/images", body)

    def completed_dataset(self, project_id: int, images: int = 1) -> dict[str, Any]:
        dataset = self.dataset(project_id)
        for index in range(images):
            response = self.upload(dataset["id"], png(color=(index, 0, 0)), f"img-{index}.png")
            assert response.status_code == 201, response.text
        response = self.put(f"/tailored-gen/datasets/{dataset['id']}", {"status": "completed"})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def model(self, dataset_id: int, version: str = "light", name: str = "m1") -> dict[str, Any]:
        body = {"name": name, "dataset_id": dataset_id, "training_version": version}
        response = self.post("/tailored-gen/models", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def wait_model(self, model_id: int, status: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            model = dict(self.get(f"/tailored-gen/models/{model_id}").json())
            if model["status"] == status or time.monotonic() > deadline:
                return model
            time.sleep(0.02)
