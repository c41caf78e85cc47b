"""The apply engine against the emulator over HTTP, with hand-written plans.

These pin the engine's own duties independently of the planner: order and parallelism, Refs
resolved from earlier steps, image ids found by name, waits, stopping at the first failure with an
exact report, recognising its own work after lost answers, and detecting a concurrent apply.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest
from e2e_support import TOKEN, account, running_emulator, set_knobs, summary
from manifest_builders import png_bytes

from reconciler.apply import ApplyEvent, PollSettings, RetryPolicy, apply_plan
from reconciler.client import BriaClient
from reconciler.plan import Plan
from reconciler.steps import (
    CloneDataset,
    CreateDataset,
    CreateModel,
    CreateProject,
    DeleteDataset,
    DeleteModel,
    Ref,
    RegenerateCaptions,
    SetCaption,
    StartTraining,
    Step,
    StopTraining,
    UpdateDataset,
    UploadImage,
)

PROJECT = Ref("project", "lora", "lora")
DATASET = Ref("dataset", "lora", "lora-v1")
MODEL = Ref("model", "lora", "lora-light")
LIST_IMAGES = "GET /tailored-gen/datasets/{dataset_id}/images"
FAST = RetryPolicy(attempts=8, base_seconds=0.01, max_seconds=0.05)


def image_file(tmp_path: Path, seed: int) -> tuple[str, str, int]:
    path = tmp_path / f"img-{seed}.png"
    content = png_bytes(seed)
    path.write_bytes(content)
    return str(path), hashlib.sha256(content).hexdigest(), len(content)


def upload(step_id: str, tmp_path: Path, seed: int, deps: tuple[str, ...]) -> UploadImage:
    path, digest, size = image_file(tmp_path, seed)
    return UploadImage(
        id=step_id,
        address="dataset.lora/lora-v1",
        depends_on=deps,
        dataset=DATASET,
        image_name=f"img-{seed}.{digest[:16]}.png",
        path=path,
        digest=digest,
        size=size,
    )


def plan_of(*steps: Step) -> Plan:
    return Plan(changes=(), steps=tuple(steps), fingerprint="test")


def full_plan(tmp_path: Path, images: int = 4) -> Plan:
    uploads = [upload(f"u{i}", tmp_path, i, ("s3",)) for i in range(1, images + 1)]
    return plan_of(
        CreateProject(
            id="s1",
            address="project.lora",
            depends_on=(),
            project=PROJECT,
            fields={
                "project_name": "lora",
                "ip_type": "defined_character",
                "ip_medium": "illustration",
                "ip_name": "Lora",
                "ip_description": "a girl with purple hair",
            },
        ),
        CreateDataset(
            id="s2",
            address="dataset.lora/lora-v1",
            depends_on=("s1",),
            project=PROJECT,
            dataset=DATASET,
            upload_type=None,
        ),
        UpdateDataset(
            id="s3",
            address="dataset.lora/lora-v1",
            depends_on=("s2",),
            dataset=DATASET,
            fields={"caption_prefix": "An illustration of Lora,"},
        ),
        *uploads,
        SetCaption(
            id="c1",
            address="dataset.lora/lora-v1",
            depends_on=("u1",),
            dataset=DATASET,
            image_name=uploads[0].image_name,
            caption="on a beach",
        ),
        UpdateDataset(
            id="s4",
            address="dataset.lora/lora-v1",
            depends_on=tuple(u.id for u in uploads) + ("c1",),
            dataset=DATASET,
            fields={"status": "completed"},
        ),
        CreateModel(
            id="s5",
            address="model.lora/lora-light",
            depends_on=("s4",),
            dataset=DATASET,
            model=MODEL,
            training_version="light",
            description=None,
            training_mode=None,
        ),
        StartTraining(
            id="s6",
            address="model.lora/lora-light",
            depends_on=("s5",),
            model=MODEL,
            parameters=None,
        ),
    )


def test_full_plan_builds_exactly_the_account(tmp_path: Path) -> None:
    with running_emulator(tmp_path / "emu") as server, BriaClient(server.url, TOKEN) as client:
        events: list[ApplyEvent] = []
        plan = full_plan(tmp_path)
        result = apply_plan(plan, client, parallelism=4, on_event=events.append, policy=FAST)
        assert result.ok, result.failed
        assert [s.id for s in result.done][:3] == ["s1", "s2", "s3"]
        assert [s.id for s in result.done][-2:] == ["s5", "s6"]
        assert result.started_models[0][0] == "lora/lora-light"
        state = summary(account(server))
    dataset = state["lora"]["datasets"]["lora-v1"]
    assert dataset["status"] == "completed"
    assert dataset["caption_prefix"] == "An illustration of Lora,"
    assert len(dataset["images"]) == 4
    beach = [i for i in dataset["images"] if i[0] == plan.steps[3].image_name]  # type: ignore[attr-defined]
    assert beach == [(beach[0][0], "on a beach", "manual")]
    assert state["lora"]["models"] == {
        "lora-light": {"dataset": "lora-v1", "status": "InProgress", "training_version": "light"}
    }
    assert {e.kind for e in events} == {"started", "done"}


def test_uploads_run_in_parallel_bounded_by_parallelism(tmp_path: Path) -> None:
    uploads = [upload(f"u{i}", tmp_path, i, ("s2",)) for i in range(1, 9)]
    steps: list[Step] = [
        CreateProject(
            id="s1",
            address="project.lora",
            depends_on=(),
            project=PROJECT,
            fields={"project_name": "lora", "ip_type": "icons", "ip_medium": "illustration"},
        ),
        CreateDataset(
            id="s2",
            address="dataset.lora/lora-v1",
            depends_on=("s1",),
            project=PROJECT,
            dataset=DATASET,
            upload_type=None,
        ),
        *uploads,
    ]
    with (
        running_emulator(tmp_path / "emu", latency=0.15) as server,
        BriaClient(server.url, TOKEN) as c,
    ):
        began = time.monotonic()
        result = apply_plan(plan_of(*steps), c, parallelism=8, policy=FAST)
        parallel = time.monotonic() - began
        assert result.ok
    # 8 uploads one at a time would take >= 8 x 0.15 s on their own
    assert parallel < 0.15 * 8 + 0.15 * 6, parallel


def test_first_failure_stops_scheduling_and_reports_done_and_not_done(tmp_path: Path) -> None:
    good = upload("u1", tmp_path, 1, ("s2",))
    bad = upload("u2", tmp_path, 2, ("s2",))
    Path(bad.path).write_bytes(png_bytes(99))  # the file changed since the plan was made
    steps: list[Step] = [
        CreateProject(
            id="s1",
            address="project.lora",
            depends_on=(),
            project=PROJECT,
            fields={"project_name": "lora", "ip_type": "icons", "ip_medium": "illustration"},
        ),
        CreateDataset(
            id="s2",
            address="dataset.lora/lora-v1",
            depends_on=("s1",),
            project=PROJECT,
            dataset=DATASET,
            upload_type=None,
        ),
        good,
        bad,
        UpdateDataset(
            id="s3",
            address="dataset.lora/lora-v1",
            depends_on=("u1", "u2"),
            dataset=DATASET,
            fields={"status": "completed"},
        ),
    ]
    with running_emulator(tmp_path / "emu") as server, BriaClient(server.url, TOKEN) as client:
        result = apply_plan(plan_of(*steps), client, parallelism=2, policy=FAST)
        state = summary(account(server))
    assert not result.ok
    assert [s.id for s, _ in result.failed] == ["u2"]
    assert "changed since the plan was made" in result.failed[0][1]
    assert bad.path in result.failed[0][1]
    assert {s.id for s in result.done} == {"s1", "s2", "u1"}
    assert [s.id for s in result.not_done] == ["s3"]
    assert [s.id for s in result.remaining] == ["u2", "s3"]
    assert result.completed == result.done
    assert state["lora"]["datasets"]["lora-v1"]["status"] == "draft"  # never completed


def test_lost_answers_never_duplicate(tmp_path: Path) -> None:
    with (
        running_emulator(tmp_path / "emu", seed=7) as server,
        BriaClient(server.url, TOKEN, backoff_base=0.01, backoff_max=0.05, max_retries=8) as client,
    ):
        set_knobs(server, lost_response_rate=0.4, seed=7)
        result = apply_plan(full_plan(tmp_path, images=6), client, parallelism=4, policy=FAST)
        set_knobs(server, lost_response_rate=0.0)
        stats = admin_stats(server)
        state = account(server)
    assert result.ok, result.failed
    assert stats["faults"]["lost_responses"] > 0
    assert len(state["projects"]) == 1
    assert len(state["datasets"]) == 1
    assert len(state["images"]) == 6
    assert [m["status"] for m in state["models"]] == ["InProgress"]


def admin_stats(server: object) -> dict:  # type: ignore[type-arg]
    from e2e_support import admin

    return admin(server, "GET", "stats")  # type: ignore[arg-type,no-any-return]


def test_a_dataset_created_meanwhile_by_another_apply_wins(tmp_path: Path) -> None:
    with running_emulator(tmp_path / "emu") as server, BriaClient(server.url, TOKEN) as client:
        project = client.create_project(
            project_name="lora", ip_type="icons", ip_medium="illustration"
        )
        theirs = client.create_dataset(project_id=project.id, name="lora-v1")  # "another apply"
        existing = Ref("project", "lora", "lora", project.id)
        steps = [
            CreateDataset(
                id="s1",
                address="dataset.lora/lora-v1",
                depends_on=(),
                project=existing,
                dataset=DATASET,
                upload_type=None,
            )
        ]
        result = apply_plan(plan_of(*steps), client, policy=FAST)
        datasets = account(server)["datasets"]
    assert [s.id for s, _ in result.failed] == ["s1"]
    message = result.failed[0][1]
    assert "was created by another apply at the same time" in message
    assert f"ids {theirs.id}, {theirs.id + 1}" in message
    assert f"removed its own copy (id {theirs.id + 1}) and stops" in message
    assert [d["id"] for d in datasets] == [theirs.id]  # no duplicate left behind


def test_two_applies_at_once_leave_no_duplicate(tmp_path: Path) -> None:
    with running_emulator(tmp_path / "emu", latency=0.05) as server:
        results = []
        start = threading.Barrier(2)

        def one_apply() -> None:
            with BriaClient(server.url, TOKEN) as client:
                start.wait()
                results.append(apply_plan(full_plan(tmp_path, images=3), client, policy=FAST))

        threads = [threading.Thread(target=one_apply) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        state = account(server)
    from e2e_support import duplicates

    assert duplicates(state) == []
    assert len(state["projects"]) == 1
    assert sorted(r.ok for r in results) == [False, True]  # both created; the later one yields
    for result in results:
        for _step, message in result.failed:
            assert "another apply" in message, message


def test_clone_then_caption_by_name_then_regenerate_waits(tmp_path: Path) -> None:
    with (
        running_emulator(tmp_path / "emu", captions_seconds=0.15) as server,
        BriaClient(server.url, TOKEN) as client,
    ):
        first = apply_plan(full_plan(tmp_path, images=2), client, policy=FAST)
        assert first.ok
        source = client.list_datasets()[0]
        clone = Ref("dataset", "lora", "lora-v1~2")
        name = first.done[3].image_name  # type: ignore[attr-defined]
        steps: list[Step] = [
            CloneDataset(
                id="k1",
                address="dataset.lora/lora-v1",
                depends_on=(),
                source=Ref("dataset", "lora", "lora-v1", source.id),
                dataset=clone,
            ),
            UpdateDataset(
                id="k2",
                address="dataset.lora/lora-v1",
                depends_on=("k1",),
                dataset=clone,
                fields={"caption_prefix": "A drawing of Lora,"},
            ),
            RegenerateCaptions(
                id="k3", address="dataset.lora/lora-v1", depends_on=("k2",), dataset=clone
            ),
            SetCaption(
                id="k4",
                address="dataset.lora/lora-v1",
                depends_on=("k3",),
                dataset=clone,
                image_name=name,
                caption="in the rain",
            ),
        ]
        lists_before = client.stats.snapshot()["by_route"].get(LIST_IMAGES, 0)
        second = apply_plan(plan_of(*steps), client, policy=FAST)
        assert second.ok, second.failed
        # the clone's image ids were found by name with one listing
        assert client.stats.snapshot()["by_route"][LIST_IMAGES] - lists_before == 1
        state = summary(account(server))
    cloned = state["lora"]["datasets"]["lora-v1~2"]
    assert cloned["status"] == "draft"
    assert cloned["caption_prefix"] == "A drawing of Lora,"
    captions = {n: (c, s) for n, c, s in cloned["images"]}
    assert captions[name] == ("in the rain", "manual")
    others = [c for n, (c, s) in captions.items() if n != name]
    assert all(c.startswith("A drawing of Lora,") for c in others), others


def test_stop_training_waits_then_delete_model_and_dataset(tmp_path: Path) -> None:
    with (
        running_emulator(tmp_path / "emu", training_seconds=60) as server,
        BriaClient(server.url, TOKEN) as client,
    ):
        assert apply_plan(full_plan(tmp_path, images=1), client, policy=FAST).ok
        model = client.list_models()[0]
        dataset = client.list_datasets()[0]
        model_ref = Ref("model", "lora", "lora-light", model.id)
        dataset_ref = Ref("dataset", "lora", "lora-v1", dataset.id)
        steps: list[Step] = [
            StopTraining(id="d1", address="model.lora/lora-light", depends_on=(), model=model_ref),
            DeleteModel(
                id="d2", address="model.lora/lora-light", depends_on=("d1",), model=model_ref
            ),
            DeleteDataset(
                id="d3", address="dataset.lora/lora-v1", depends_on=("d2",), dataset=dataset_ref
            ),
        ]
        result = apply_plan(plan_of(*steps), client, policy=FAST)
        assert result.ok, result.failed
        state = account(server)
    assert state["datasets"] == []
    assert [m["status"] for m in state["models"]] == ["Deleted"]


def test_cancel_stops_before_new_steps(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with running_emulator(tmp_path / "emu") as server, BriaClient(server.url, TOKEN) as client:
        result = apply_plan(full_plan(tmp_path), client, cancel=cancel, policy=FAST)
        assert account(server)["projects"] == []
    assert result.interrupted and not result.done
    assert len(result.not_done) == len(full_plan(tmp_path).steps)


@pytest.mark.parametrize("parallelism", [0, -1])
def test_parallelism_must_be_positive(tmp_path: Path, parallelism: int) -> None:
    from reconciler.errors import ReconcilerError

    with pytest.raises(ReconcilerError, match="at least 1"):
        apply_plan(plan_of(), None, parallelism=parallelism)  # type: ignore[arg-type]


def test_waits_are_bounded(tmp_path: Path) -> None:

    with (
        running_emulator(tmp_path / "emu", captions_seconds=30) as server,
        BriaClient(server.url, TOKEN) as client,
    ):
        assert apply_plan(full_plan(tmp_path, images=1), client, policy=FAST).ok
        dataset = client.list_datasets()[0]
        clone = Ref("dataset", "lora", "lora-v1~2")
        steps: list[Step] = [
            CloneDataset(
                id="k1",
                address="dataset.lora/lora-v1",
                depends_on=(),
                source=Ref("dataset", "lora", "lora-v1", dataset.id),
                dataset=clone,
            ),
            RegenerateCaptions(
                id="k2", address="dataset.lora/lora-v1", depends_on=("k1",), dataset=clone
            ),
        ]
        began = time.monotonic()
        result = apply_plan(
            plan_of(*steps), client, policy=FAST, poll=PollSettings(0.05, 0.1, timeout_seconds=0.2)
        )
        assert time.monotonic() - began < 5
    assert [s.id for s, _ in result.failed] == ["k2"]
    assert (
        "caption regeneration of dataset 'lora/lora-v1~2' did not finish within 0.2 s"
        in (result.failed[0][1])
    )


def test_an_inconsistent_plan_is_refused_before_any_call(tmp_path: Path) -> None:
    from reconciler.errors import ReconcilerError

    steps = [
        UpdateDataset(
            id="s2", address="dataset.lora/lora-v1", depends_on=("s9",), dataset=DATASET, fields={}
        )
    ]
    with pytest.raises(ReconcilerError, match="step 's2' depends on 's9', which does not come"):
        apply_plan(plan_of(*steps), None)  # type: ignore[arg-type]


def test_deleting_a_stopping_model_waits_until_it_stopped(tmp_path: Path) -> None:
    with (
        running_emulator(tmp_path / "emu", training_seconds=60) as server,
        BriaClient(server.url, TOKEN) as client,
    ):
        assert apply_plan(full_plan(tmp_path, images=1), client, policy=FAST).ok
        set_knobs(server, stopping_seconds=0.3)
        model = client.list_models()[0]
        client.stop_training(model.id)
        assert client.get_model(model.id).status == "Stopping"
        ref = Ref("model", "lora", "lora-light", model.id)
        result = apply_plan(
            plan_of(
                DeleteModel(id="d1", address="model.lora/lora-light", depends_on=(), model=ref)
            ),
            client,
            policy=FAST,
        )
        assert result.ok, result.failed
        assert [m["status"] for m in account(server)["models"]] == ["Deleted"]
