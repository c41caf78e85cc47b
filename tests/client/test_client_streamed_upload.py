"""Uploads are encoded while sent (client/streamed_json.py): the body is exactly the JSON object
the reference describes, with an exact Content-Length, and a retry sends it whole again."""

from __future__ import annotations

import base64
import json
import os

import httpx
import pytest

from reconciler.client import BriaClient
from reconciler.client.streamed_json import CHUNK, StreamedJson

IMAGE = {"id": 5, "image_name": "a.png", "dataset_id": 3}


@pytest.mark.parametrize("size", [0, 1, 2, 3, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 2])
def test_the_streamed_body_is_the_json_object(size: int) -> None:
    data = os.urandom(size)
    body = StreamedJson("file", data, {"image_name": 'n\u00e9 "quoted".png'})
    raw = b"".join(body.chunks())
    assert len(raw) == body.length
    assert json.loads(raw) == body.value()
    assert base64.b64decode(json.loads(raw)["file"]) == data


def test_upload_sends_it_with_content_length_and_resends_it_whole_after_a_429() -> None:
    data = os.urandom(2 * CHUNK + 5)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"})
        return httpx.Response(201, json=IMAGE)

    client = BriaClient(
        "https://bria.test/v1", "tok-STREAM-1", transport=httpx.MockTransport(handler)
    )
    assert client.upload_image(3, file=data, image_name="a.png").id == 5
    assert len(seen) == 2
    for request in seen:
        assert request.headers["content-type"] == "application/json"
        assert int(request.headers["content-length"]) == len(request.content)
        assert "transfer-encoding" not in request.headers
        sent = json.loads(request.content)
        assert sent.keys() == {"file", "image_name"}
        assert base64.b64decode(sent["file"]) == data and sent["image_name"] == "a.png"
