"""Emulator storage: state survives restarts, and concurrent writers neither corrupt it nor
slip past the 200-image limit."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.storage import Storage
from reconciler.emulator.testing import EmulatorSession, b64, png


def test_state_survives_a_restart_and_training_advances_meanwhile(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path, training_seconds=0.2) as first:
        bria = EmulatorSession(first)
        project = bria.project()
        dataset = bria.completed_dataset(project["id"], images=2)
        model = bria.model(dataset["id"])
        assert bria.post(f"/tailored-gen/models/{model['id']}/start_training").status_code == 200
        image = bria.get(f"/tailored-gen/datasets/{dataset['id']}/images").json()[0]
        before = bria.state()
        bria.close()
    time.sleep(0.2)
    with EmulatorServer(tmp_path, training_seconds=30) as second:
        bria = EmulatorSession(second)
        after = bria.state()
        assert after["projects"] == before["projects"]
        assert after["datasets"] == before["datasets"]
        assert after["images"] == before["images"]
        assert [m["status"] for m in before["models"]] == ["InProgress"]
        # the end time was stored at start, so the new training_seconds does not matter
        assert [m["status"] for m in after["models"]] == ["Completed"]
        moved = image["image_url"].replace(first.root_url, second.root_url)
        assert httpx.get(moved, verify=False).status_code == 200
        newer = bria.project(project_name="after restart")
        assert newer["id"] > max(i["id"] for i in after["images"])
        bria.close()


def test_concurrent_uploads_stop_exactly_at_200(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path) as server:
        bria = EmulatorSession(server)
        dataset = bria.dataset(bria.project()["id"])
        path = f"/tailored-gen/datasets/{dataset['id']}/images"
        encoded = b64(png())
        bodies = [{"file": encoded, "image_name": f"i{n}.png"} for n in range(205)]

        limits = httpx.Limits(max_connections=12)
        with (
            httpx.Client(base_url=server.url, headers={"api_token": "t"}, limits=limits) as c,
            ThreadPoolExecutor(max_workers=12) as pool,
        ):
            answers = list(pool.map(lambda body: c.post(path, json=body), bodies))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] * 200 + [409] * 5
        refused = [a.json() for a in answers if a.status_code == 409]
        assert refused == [{"message": "Dataset cannot exceed 200 images"}] * 5
        listed = bria.get(path).json()
        assert len(listed) == 200
        assert len({i["id"] for i in listed}) == 200
        accepted = {a.json()["image_name"] for a in answers if a.status_code == 201}
        assert {i["image_name"] for i in listed} == accepted
        assert bria.get(f"/tailored-gen/datasets/{dataset['id']}").json()["images_count"] == 200
        late = bria.upload(dataset["id"])
        assert (late.status_code, late.json()) == (
            409,
            {"message": "Dataset cannot exceed 200 images"},
        )
        bria.close()


def test_concurrent_mixed_writers_keep_every_write(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path) as server:
        bria = EmulatorSession(server)
        project = bria.project()

        client = httpx.Client(base_url=server.url, headers={"api_token": "t"})

        def create(n: int) -> int:
            if n % 2:
                body = {"project_id": project["id"], "name": f"d{n}"}
                return client.post("/tailored-gen/datasets", json=body).status_code
            return client.put(f"/tailored-gen/projects/{project['id']}",
                              json={"project_description": f"edit {n}"}).status_code  # fmt: skip

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(create, range(60)))
        client.close()
        assert sorted(set(statuses)) == [200, 201]
        names = sorted(d["name"] for d in bria.state()["datasets"])
        assert names == sorted(f"d{n}" for n in range(1, 60, 2))
        bria.close()


def test_two_storages_on_one_file_share_state(tmp_path: Path) -> None:
    first, second = Storage(tmp_path), Storage(tmp_path)
    ids = [first.next_id(), second.next_id(), first.next_id()]
    assert ids == [1, 2, 3]
    first.insert("deleted_datasets", {"id": 10, "deleted_at": 1.0})
    assert second.get("deleted_datasets", 10) == {"id": 10, "deleted_at": 1.0}
    first.close()
    second.close()


def test_failed_operation_rolls_back_its_writes(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    try:
        with storage.transaction():
            storage.insert("deleted_datasets", {"id": 5, "deleted_at": 1.0})
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert storage.get("deleted_datasets", 5) is None
    storage.close()
