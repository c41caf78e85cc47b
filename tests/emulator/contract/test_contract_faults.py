"""Contract: the client against the emulator's fault knobs (429 with Retry-After, 500 before
acting, lost responses, latency), concurrent clients, and state surviving a restart."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from reconciler.client import BriaClient, RateLimited, ServerError, TransportError
from reconciler.emulator.server import EmulatorServer

from .target import TOKEN, Target, make_png


def _project_names(bria: Target) -> list[str]:
    return sorted(p["project_name"] for p in bria.state()["projects"])


def test_rate_limits_are_retried_after_retry_after(bria: Target) -> None:
    bria.emulator_only()
    bria.configure(rate_limit_every=2, retry_after=0.05)
    client = bria.client
    for index in range(4):
        client.create_project(
            project_name=bria.name(f"p{index}"), ip_type="icons", ip_medium="illustration"
        )
    assert _project_names(bria) == [bria.name(f"p{index}") for index in range(4)]
    # requests 2, 4 and 6 are refused, each retried once: 7 requests for 4 projects
    assert client.stats.by_status == {"201": 4, "429": 3}
    assert (client.stats.requests, client.stats.retries) == (7, 3)
    assert bria.fault_stats()["faults"]["rate_limited"] == 3


def test_rate_limit_beyond_max_rate_wait_gives_up_with_retry_after(bria: Target) -> None:
    bria.emulator_only()
    bria.configure(rate_limit_every=1, retry_after=60)
    client = bria.new_client(max_rate_wait=5.0)
    with pytest.raises(RateLimited) as info:
        client.list_projects()
    assert info.value.retry_after == 60.0
    assert client.stats.requests == 1


def test_failures_before_acting_are_retried_for_reads(bria: Target) -> None:
    bria.emulator_only()
    bria.client.create_project(
        project_name=bria.name("p"), ip_type="other", ip_medium="illustration"
    )
    bria.configure(failure_rate=0.5, seed=3)
    reader = bria.new_client(max_retries=10, backoff_base=0.001, backoff_max=0.005)
    for _ in range(10):
        assert [p.project_name for p in reader.list_projects()] == [bria.name("p")]
    assert reader.stats.by_status["500"] == bria.fault_stats()["faults"]["failed_before_acting"]
    assert reader.stats.retries == reader.stats.by_status["500"] > 0


def test_a_write_is_not_repeated_after_a_500(bria: Target) -> None:
    bria.emulator_only()
    bria.configure(failure_rate=1.0)
    with pytest.raises(ServerError) as info:
        bria.client.create_project(
            project_name=bria.name("p"), ip_type="other", ip_medium="illustration"
        )
    assert str(info.value) == (
        "POST /tailored-gen/projects: 500 Internal Server Error: Internal server error"
    )
    assert bria.client.stats.requests == 1
    assert _project_names(bria) == []


def test_lost_response_leaves_exactly_one_write_for_the_engine_to_find(bria: Target) -> None:
    bria.emulator_only()
    bria.configure(lost_response_rate=1.0)
    with pytest.raises(ServerError):
        bria.client.create_project(
            project_name=bria.name("p"), ip_type="other", ip_medium="illustration"
        )
    assert bria.client.stats.requests == 1  # not retried: the write happened
    assert _project_names(bria) == [bria.name("p")]


def test_latency_beyond_the_timeout_is_a_maybe_sent_transport_error(bria: Target) -> None:
    bria.emulator_only()
    if bria.kind != "socket":
        pytest.skip("timeouts need a real socket")
    bria.configure(latency=0.5)
    impatient = bria.new_client(timeout=0.1, max_retries=0)
    with pytest.raises(TransportError) as info:
        impatient.create_project(
            project_name=bria.name("p"), ip_type="other", ip_medium="illustration"
        )
    assert info.value.maybe_sent is True
    assert str(info.value).startswith("POST /tailored-gen/projects: no response (read timeout);")


def test_two_clients_uploading_at_once_lose_nothing(bria: Target) -> None:
    bria.emulator_only("uses the emulator's state dump")
    project = bria.client.create_project(
        project_name=bria.name("p"), ip_type="icons", ip_medium="illustration"
    )
    dataset = bria.client.create_dataset(project_id=project.id, name=bria.name("d"))
    image = make_png(5)
    workers = [bria.new_client(), bria.new_client()]
    errors: list[BaseException] = []

    def upload(worker: BriaClient, offset: int) -> None:
        try:
            for index in range(6):
                worker.upload_image(dataset.id, file=image, image_name=f"w{offset}-{index}.png")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(w, n)) for n, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    names = sorted(i.image_name for i in bria.client.list_images(dataset.id))
    assert names == sorted(f"w{w}-{i}.png" for w in range(2) for i in range(6))
    assert len({i.id for i in bria.client.list_images(dataset.id)}) == 12
    assert bria.client.get_dataset(dataset.id).images_count == 12


def test_state_survives_an_emulator_restart(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path, token=TOKEN) as first:
        with BriaClient(first.url, TOKEN) as client:
            project = client.create_project(
                project_name="kept", ip_type="icons", ip_medium="illustration"
            )
            dataset = client.create_dataset(project_id=project.id, name="d")
            image = client.upload_image(dataset.id, file=make_png(6), image_name="a.png")
    with EmulatorServer(tmp_path, token=TOKEN) as second:
        with BriaClient(second.url, TOKEN) as client:
            assert client.get_project(project.id).project_name == "kept"
            kept = client.get_image(dataset.id, image.id)
            assert (kept.image_name, kept.caption, kept.caption_source) == (
                "a.png",
                image.caption,
                "automatic",
            )
            again = client.create_project(
                project_name="new", ip_type="other", ip_medium="illustration"
            )
            assert again.id != project.id
