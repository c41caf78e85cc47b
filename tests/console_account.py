"""An account built the way Bria's console builds one, through the real client and API.

The console names uploaded images after the user's files (no content digest), leaves most
captions automatic and lets the user edit some (`manual`), and never follows the reconciler's
naming scheme unless someone did by hand. The account has what issue 11 asks for: projects of
two ip_types, a completed and a draft dataset with manual and automatic captions, a Completed
and an InProgress model, an old `~1` version, plus things import must leave out.

`FOLDERS` holds the user's own files (what they uploaded), for the hand-written adoption tests.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from manifest_builders import png_bytes

from reconciler.client import BriaClient
from reconciler.emulator.server import EmulatorServer

LORA = {
    "project_name": "lora",
    "ip_type": "defined_character",
    "ip_medium": "illustration",
    "ip_name": "Lora",
    "ip_description": "a girl with purple hair",
    "project_description": "Spring campaign",
}
SCENES = {"project_name": "scenes", "ip_type": "stylized_scene", "ip_medium": "photography"}
WIP_PREFIX = "An illustration of Lora in the spring collection,"

# dataset -> file name -> (seed, manual caption or None)
FOLDERS: dict[tuple[str, str], dict[str, tuple[int, str | None]]] = {
    ("lora", "chars"): {
        "lora-beach.png": (101, "Lora on a beach at sunset"),
        "lora-city.png": (102, None),
        "lora-forest.png": (103, "Lora in a forest, soft light"),
        "lora-garden.png": (104, None),
        "lora-rain.png": (105, None),
        "lora-snow.png": (106, None),
    },
    ("lora", "wip"): {
        "sketch-1.png": (201, "Lora sketching\n"),  # a console text box keeps the newline
        "sketch-2.png": (202, None),
        "sketch-3.png": (203, None),
    },
    ("scenes", "streets"): {  # the current version, streets~2
        "street-1.png": (301, None),
        "street-2.png": (302, "a street at night"),
        "street-3.png": (303, None),
    },
}


def admin(server: EmulatorServer, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(
        method, f"{server.root_url}/_emulator/{path}", timeout=30, verify=False, **kwargs
    )
    response.raise_for_status()
    return response.json()


def _dataset(
    client: BriaClient,
    project_id: int,
    name: str,
    files: dict[str, tuple[int, str | None]],
    *,
    complete: bool,
    prefix: str | None = None,
) -> int:
    dataset = client.create_dataset(project_id=project_id, name=name)
    if prefix is not None:
        client.update_dataset(dataset.id, caption_prefix=prefix)
    for file_name, (seed, caption) in files.items():
        image = client.upload_image(dataset.id, file=png_bytes(seed), image_name=file_name)
        if caption is not None:
            client.update_image_caption(dataset.id, image.id, caption=caption)
    if complete:
        client.update_dataset(dataset.id, status="completed")
    return dataset.id


def _wait_until_trained(client: BriaClient, model_ids: list[int], timeout: float = 30) -> None:
    """Until every model has ended its training (Completed or Failed): polled, not slept."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = {client.get_model(model_id).status for model_id in model_ids}
        if statuses <= {"Completed", "Failed"}:
            return
        assert time.monotonic() < deadline, f"training did not end: {statuses}"
        time.sleep(0.005)


def build_console_account(server: EmulatorServer, client: BriaClient) -> dict[str, int]:
    """The account of the module docstring; returns the ids tests look at."""
    lora = client.create_project(**LORA)
    scenes = client.create_project(**SCENES)
    chars = _dataset(client, lora.id, "chars", FOLDERS[("lora", "chars")], complete=True)
    _dataset(client, lora.id, "wip", FOLDERS[("lora", "wip")], complete=False, prefix=WIP_PREFIX)
    old = _dataset(client, scenes.id, "streets~1", {"street-1.png": (301, None)}, complete=True)
    streets = _dataset(
        client, scenes.id, "streets~2", FOLDERS[("scenes", "streets")], complete=True
    )
    _dataset(client, scenes.id, "Copy of streets", {"x.png": (401, None)}, complete=False)
    admin(server, "PUT", "config", json={"training_seconds": 0.01})
    done = client.create_model(
        dataset_id=chars, name="chars-light", training_version="light", description="the fast one"
    )
    client.start_training(done.id)
    on_old = client.create_model(dataset_id=old, name="streets-old", training_version="light")
    client.start_training(on_old.id)
    failed = client.create_model(
        dataset_id=streets, name="streets-fail-training", training_version="light"
    )
    client.start_training(failed.id)
    _wait_until_trained(client, [done.id, on_old.id, failed.id])
    admin(server, "PUT", "config", json={"training_seconds": 3600})
    running = client.create_model(dataset_id=chars, name="chars-max", training_version="max")
    client.start_training(running.id)
    done2 = client.create_model(dataset_id=streets, name="streets-light", training_version="light")
    client.start_training(done2.id)
    return {"chars": chars, "streets": streets, "completed_model": done.id}


def build_console_data(folder: Path) -> Path:
    """The account of the module docstring, built once into `folder` (an emulator's data folder,
    SQLite and files) for `console_emulator` to start copies of: tests change their copy."""
    from e2e_support import TOKEN, running_emulator

    with running_emulator(folder, training_seconds=3600) as server:
        with BriaClient(server.url, TOKEN) as client:
            build_console_account(server, client)
    return folder


@contextmanager
def console_emulator(data: Path, root: Path) -> Iterator[EmulatorServer]:
    """An emulator on a fresh copy (under `root`) of the account `build_console_data` made."""
    from e2e_support import running_emulator

    shutil.copytree(data, root / "emu")
    with running_emulator(root / "emu", training_seconds=3600) as server:
        yield server


def write_folders(root: Path) -> dict[tuple[str, str], Path]:
    """The user's own image folders (the files uploaded in the console) under `root`."""
    folders = {}
    for (project, dataset), files in FOLDERS.items():
        folder = root / project / dataset
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, (seed, _caption) in files.items():
            (folder / file_name).write_bytes(png_bytes(seed))
        folders[(project, dataset)] = folder
    return folders


def request_counts(server: EmulatorServer) -> dict[str, int]:
    """`METHOD route` -> requests so far (the emulator's request log)."""
    stats = admin(server, "GET", "stats")
    return dict(stats["by_route"])


def new_requests(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
