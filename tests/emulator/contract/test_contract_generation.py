"""Contract: where the reference is explicit about generation, the emulator follows it.

The IP-Adapter is listed under "Guidance Methods" (refused on max models, one result), a guidance
method with `num_results` omitted generates 1, the results of one request carry distinct seeds,
and an asynchronous request's URLs are polled until ready.
"""

from __future__ import annotations

import base64

import pytest

from reconciler.client import BadRequest

from .target import Target, make_png, wait_for
from .test_contract_models import _trained

# the v1 generation routes and light/max rules: the reference generation's (the current one's
# /v2 generation is in test_contract_current.py)
pytestmark = pytest.mark.profiles("reference")

IMAGE = base64.b64encode(make_png(3, size=(256, 256))).decode()


def test_ip_adapter_counts_as_a_guidance_method(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    light = _trained(bria)
    with pytest.raises(BadRequest, match="num_results must be 1"):
        bria.client.text_to_image(
            light.id, prompt="a castle", num_results=2, image_prompt_file=IMAGE
        )
    with pytest.raises(BadRequest, match="num_results must be 1"):
        bria.client.text_to_image(
            light.id, prompt="a castle", num_results=3, image_prompt_urls=["https://x.test/a.png"]
        )
    answer = bria.client.text_to_image(light.id, prompt="a castle", image_prompt_file=IMAGE)
    assert len(answer["result"]) == 1
    heavy = _trained(bria, "max")
    with pytest.raises(BadRequest, match="do not support guidance methods"):
        bria.client.text_to_image(
            heavy.id, prompt="a castle", fast=False, num_results=1, image_prompt_file=IMAGE
        )


def test_a_guidance_method_without_num_results_generates_one(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    model = _trained(bria)
    answer = bria.client.text_to_image(
        model.id,
        prompt="a castle",
        guidance_method_1="controlnet_canny",
        guidance_method_1_image_file=IMAGE,
    )
    assert len(answer["result"]) == 1
    assert len(bria.client.text_to_image(model.id, prompt="a castle")["result"]) == 4


def test_results_of_one_request_carry_distinct_seeds(bria: Target) -> None:
    bria.emulator_only("needs a trained model")
    model = _trained(bria)
    seeded = bria.client.text_to_image(model.id, prompt="a castle", num_results=4, seed=41)
    assert [r["seed"] for r in seeded["result"]] == [41, 42, 43, 44]
    again = bria.client.text_to_image(model.id, prompt="a castle", num_results=1, seed=42)
    assert (
        bria.fetch(again["result"][0]["urls"][0]).content
        == bria.fetch(seeded["result"][1]["urls"][0]).content
    )  # the seed of a result recreates it
    unseeded = bria.client.text_to_image(model.id, prompt="a castle", num_results=4)
    assert len({r["seed"] for r in unseeded["result"]}) == 4
    vectors = bria.client.text_to_vector(model.id, prompt="a castle", num_results=2)
    assert len({r["seed"] for r in vectors["result"]}) == 2


def test_asynchronous_results_are_ready_after_generation_seconds(bria: Target) -> None:
    bria.emulator_only("needs the generation_seconds knob")
    model = _trained(bria)
    bria.configure(generation_seconds=0.4)  # the first fetch, at once, is still before it
    answer = bria.client.text_to_image(model.id, prompt="a castle", num_results=1, sync=False)
    url = answer["result"][0]["urls"][0]
    assert bria.fetch(url).status_code == 404
    assert wait_for(lambda: bria.fetch(url).status_code, lambda code: code == 200) == 200
    synchronous = bria.client.text_to_image(model.id, prompt="a castle", num_results=1, sync=True)
    assert bria.fetch(synchronous["result"][0]["urls"][0]).status_code == 200
