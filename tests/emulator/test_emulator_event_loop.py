"""Which operations run on the event loop: the ones that fetch URLs must not (a URL may be the
emulator's own `/files`, which only a free loop can answer), and a renamed route must not slip
out of `OFF_LOOP` unnoticed."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.app import OFF_LOOP, create_app
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.route_table import RouteTable
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import EmulatorSession, b64, png


def test_every_off_loop_operation_is_a_served_route(tmp_path: Path) -> None:
    app = create_app(EmulatorConfig(api_profile="current"), tmp_path)
    served = {name for table in app.routes if isinstance(table, RouteTable) for name in table.names}
    assert {f"{method} {path}" for method, path in OFF_LOOP} <= served
    assert ("POST", "/v1/tailored-gen/datasets/{dataset_id}/images") in OFF_LOOP


def test_visual_schema_from_the_emulators_own_file_urls(tmp_path: Path) -> None:
    """Generate Visual Schema fetches each URL; were it on the loop, the fetch of the
    emulator's own file would wait on that loop until the fetch timed out (a 422 after 10 s)."""
    with EmulatorServer(tmp_path, token="t", api_profile="current") as server:
        bria = EmulatorSession(server, token="t")
        project = bria.project()
        dataset = bria.dataset(project["id"])
        files = [png(color=(index, 40, 80)) for index in range(5)]
        urls = []
        for data in files:
            answer = bria.upload(dataset["id"], data)
            assert answer.status_code == 201, answer.text
            urls.append(answer.json()["image_url"])
        path = "/tailored-gen/generate_visual_schema"
        by_url = bria.post(path, {"images": urls}, timeout=5)
        assert by_url.status_code == 200, by_url.text
        by_content = bria.post(path, {"images": [b64(data) for data in files]})
        assert by_url.json() == by_content.json()
        bria.close()
