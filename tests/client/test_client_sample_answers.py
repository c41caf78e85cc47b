"""The client against a faithful Bria that answers like the reference's own samples.

The reference's sample answers to Upload Image, Get Image by ID and Update Image Caption are `{}`;
Stop Training has no sample at all; Upload Image's `image_name` is optional. A server answering
that way is still Bria, so each case here runs a real emulator behind a scripted HTTP server that
performs the call upstream (the write really happens) and then answers like the sample, and checks
the record the client returns against the emulator's state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from conftest import EMULATOR_TOKEN
from hostile_server import Answer, HostileServer, Rule

from reconciler.client import BriaClient, MalformedResponse
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.testing import png

IMAGES = r"/v1/tailored-gen/datasets/\d+/images"
IMAGE = r"/v1/tailored-gen/datasets/\d+/images/\d+"


@dataclass
class Account:
    """A client that talks to the emulator through the scripted server."""

    server: HostileServer
    client: BriaClient
    emulator: EmulatorServer

    def state(self) -> dict[str, Any]:
        return dict(
            httpx.get(self.emulator.root_url + "/_emulator/state", timeout=10, verify=False).json()
        )

    def draft_dataset(self) -> int:
        project = self.client.create_project(
            project_name="sample-answers", ip_type="other", ip_medium="illustration"
        )
        return self.client.create_dataset(project_id=project.id, name="d").id

    def model_ready_to_train(self) -> int:
        dataset_id = self.draft_dataset()
        self.client.upload_image(dataset_id, file=png(), image_name="a.png")
        self.client.update_dataset(dataset_id, status="completed")
        return self.client.create_model(
            name="m", dataset_id=dataset_id, training_version="light"
        ).id


@pytest.fixture(scope="module")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """One emulator for the module: each test makes its own project and looks only at it."""
    with EmulatorServer(
        tmp_path_factory.mktemp("bria"), token=EMULATOR_TOKEN, training_seconds=30
    ) as running:
        yield running


@pytest.fixture
def account(shared_emulator: EmulatorServer) -> Iterator[Account]:
    with HostileServer(shared_emulator.url) as server:
        with BriaClient(server.url, EMULATOR_TOKEN, backoff_base=0.01, max_retries=0) as client:
            yield Account(server, client, shared_emulator)


def test_upload_answered_with_an_empty_object_returns_the_uploaded_image(account: Account) -> None:
    dataset_id = account.draft_dataset()
    first = account.client.upload_image(
        dataset_id, file=png(color=(1, 2, 3)), image_name="same.png"
    )
    account.server.script(Rule("POST", IMAGES, Answer(201, {}), forward=True))

    second = account.client.upload_image(
        dataset_id, file=png(color=(4, 5, 6)), image_name="same.png"
    )

    stored = [i for i in account.state()["images"] if i["dataset_id"] == dataset_id]
    assert sorted(i["id"] for i in stored) == [first.id, second.id]
    assert second.id > first.id  # the newest image of that name, not the older one
    assert (second.dataset_id, second.image_name) == (dataset_id, "same.png")
    assert account.server.routes()[-1] == f"GET /v1/tailored-gen/datasets/{dataset_id}/images"


def test_upload_answered_empty_with_nothing_uploaded_is_malformed(account: Account) -> None:
    dataset_id = account.draft_dataset()
    account.server.script(Rule("POST", IMAGES, Answer(201, {})))  # not forwarded: no upload

    with pytest.raises(MalformedResponse) as caught:
        account.client.upload_image(dataset_id, file=png(), image_name="lost.png")

    assert str(caught.value) == (
        f"POST /tailored-gen/datasets/{dataset_id}/images: malformed response: the answer is "
        "empty and the dataset has no image named 'lost.png'"
    )


def test_get_image_answered_with_an_empty_object_is_read_from_the_list(account: Account) -> None:
    dataset_id = account.draft_dataset()
    uploaded = account.client.upload_image(dataset_id, file=png(), image_name="a.png")
    account.server.script(Rule("GET", IMAGE, Answer(200, {})))

    image = account.client.get_image(dataset_id, uploaded.id)

    assert (image.id, image.image_name, image.caption) == (
        uploaded.id,
        "a.png",
        uploaded.caption,
    )


def test_caption_update_and_get_image_both_answered_empty(account: Account) -> None:
    """Both samples are `{}`: the caption is confirmed from the dataset's image list."""
    dataset_id = account.draft_dataset()
    uploaded = account.client.upload_image(dataset_id, file=png(), image_name="a.png")
    account.server.script(
        Rule("PUT", IMAGE, Answer(200, {}), forward=True), Rule("GET", IMAGE, Answer(200, {}))
    )

    image = account.client.update_image_caption(dataset_id, uploaded.id, caption="on a beach")

    assert (image.id, image.caption, image.caption_source) == (uploaded.id, "on a beach", "manual")


def test_get_image_answered_empty_for_an_image_not_listed_is_malformed(account: Account) -> None:
    dataset_id = account.draft_dataset()
    account.server.script(Rule("GET", IMAGE, Answer(200, {})))

    with pytest.raises(MalformedResponse, match=r"the answer is empty and image 999999 is not in"):
        account.client.get_image(dataset_id, 999999)


@pytest.mark.parametrize("answer", [{}, b""], ids=["empty object", "no body"])
def test_start_and_stop_training_answered_without_a_model(account: Account, answer: Any) -> None:
    model_id = account.model_ready_to_train()
    account.server.script(
        Rule("POST", r"/v1/tailored-gen/models/\d+/(start|stop)_training", Answer(200, answer),
             forward=True)
    )  # fmt: skip

    started = account.client.start_training(model_id)
    assert (started.id, started.status, started.name) == (model_id, "InProgress", "m")

    stopped = account.client.stop_training(model_id)
    assert (stopped.id, stopped.name) == (model_id, "m")
    assert stopped.status in ("Stopping", "Stopped")


def test_images_without_image_name_are_read(account: Account) -> None:
    """`image_name` is optional on upload, so a listed image may have none."""
    dataset_id = account.draft_dataset()
    uploaded = account.client.upload_image(dataset_id, file=png(), image_name="a.png")
    listed = account.client.list_images(dataset_id)[0].raw
    unnamed = [{k: v for k, v in listed.items() if k != "image_name"}, {**listed, "id": 7}]
    unnamed[1]["image_name"] = None
    account.server.script(Rule("GET", IMAGES, Answer(200, unnamed)))

    images = account.client.list_images(dataset_id)

    assert [(i.id, i.image_name) for i in images] == [
        (uploaded.id, f"(unnamed image {uploaded.id})"),
        (7, "(unnamed image 7)"),
    ]


def test_writes_answered_with_only_a_message_are_confirmed_by_a_read(account: Account) -> None:
    """The reference describes these answers only in words ("Caption regeneration process
    started"): an answer without an `id` is not a record, so the resource is read back."""
    model_id = account.model_ready_to_train()
    dataset_id = account.client.get_model(model_id).dataset_id
    assert dataset_id is not None
    project_id = account.client.get_dataset(dataset_id).project_id
    draft = account.client.create_dataset(project_id=project_id, name="draft")
    account.client.upload_image(draft.id, file=png(), image_name="a.png")
    said = Answer(200, {"message": "done"})
    account.server.script(
        Rule("PUT", r"/v1/tailored-gen/projects/\d+", said, forward=True),
        Rule("PUT", r"/v1/tailored-gen/datasets/\d+/images", Answer(202, {"message": "started"}),
             forward=True),
        Rule("PUT", r"/v1/tailored-gen/models/\d+", said, forward=True),
        Rule("POST", r"/v1/tailored-gen/models/\d+/start_training",
             Answer(200, {"status": "InProgress"}), forward=True),
    )  # fmt: skip

    project = account.client.update_project(project_id, project_description="Spring")
    regenerating = account.client.regenerate_captions(draft.id)
    model = account.client.update_model(model_id, description="light one")
    started = account.client.start_training(model_id)

    assert (project.id, project.project_description) == (project_id, "Spring")
    assert (regenerating.id, regenerating.name) == (draft.id, "draft")
    assert regenerating.captions_update_status in ("in_progress", "completed")
    assert (model.id, model.description) == (model_id, "light one")
    assert (started.id, started.status) == (model_id, "InProgress")
    assert len(account.server.hostile_answers) == 4
