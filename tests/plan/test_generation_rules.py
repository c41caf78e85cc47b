"""Pure: the generation request `generate` and `samples` send, decided before any call."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.commands.generate_cmd import parse_guidance
from reconciler.generation.rules import (
    SAMPLE_FIELDS,
    GenerationOptions,
    GenerationRefused,
    Guidance,
    ImageInput,
    ModelFacts,
    check_ready,
    check_request,
    prompt_problem,
)

LIGHT = ModelFacts("lora/lora-light~2", 17, "Completed", "light", "illustration")
MAX = ModelFacts("lora/lora-max~1", 18, "Completed", "max", "illustration")
PNG = ImageInput("a.png", b"\x89PNG-bytes", "PNG", 1024, 1024)


def test_parse_guidance_reads_method_image_and_optional_scale() -> None:
    assert parse_guidance("controlnet_canny=edges.png:0.8") == Guidance(
        "controlnet_canny", "edges.png", 0.8
    )
    assert parse_guidance("controlnet_depth=dir:with:colons.png") == Guidance(
        "controlnet_depth", "dir:with:colons.png"
    )
    with pytest.raises(GenerationRefused, match="is not METHOD=IMAGE"):
        parse_guidance("edges.png")


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ("Lora waving, smiling (happy)!", None),
        ('Lora\'s "big" day: part 2; why?', None),
        ("", "the prompt is empty"),
        ("caf\u00e9 scene", "the prompt contains '\u00e9'"),
        ("a cat \U0001f431", "the prompt contains '\U0001f431'"),
        ("50% off", "the prompt contains '%'"),
        ("line one\nline two", "the prompt contains U+000A"),
    ],
)
def test_prompt_in_english_without_special_characters(prompt: str, problem: str | None) -> None:
    found = prompt_problem(prompt)
    assert (found is None) if problem is None else (found or "").startswith(problem)


def test_light_defaults_send_only_what_was_asked() -> None:
    request = check_request(GenerationOptions(prompt="Lora"), LIGHT, {})
    assert (request.route, request.model_id, dict(request.params)) == (
        "text-to-image",
        17,
        {"prompt": "Lora"},
    )
    assert request.expected_results == 4  # Bria's default


def test_max_models_are_sent_fast_false_and_two_results() -> None:
    request = check_request(GenerationOptions(prompt="Lora", seed=3), MAX, {})
    assert dict(request.params) == {"prompt": "Lora", "num_results": 2, "seed": 3, "fast": False}


def test_guidance_sends_one_result_and_images_are_described_not_embedded() -> None:
    options = GenerationOptions(
        prompt="Lora",
        guidance=(Guidance("controlnet_canny", "a.png", 0.5),),
        image_prompt="a.png",
        image_prompt_mode="style_only",
    )
    request = check_request(options, LIGHT, {"a.png": PNG})
    assert request.params["num_results"] == 1
    assert request.params["guidance_method_1"] == "controlnet_canny"
    assert request.params["guidance_method_1_image_file"] == "iVBORy1ieXRlcw=="
    described = request.described["image_prompt_file"]
    assert described["file"] == "a.png" and len(described["sha256"]) == 64


def test_reimagine_and_vector_routes() -> None:
    structure = GenerationOptions(prompt="Lora", structure_image="a.png")
    assert check_request(structure, LIGHT, {"a.png": PNG}).route == "reimagine"
    assert check_request(GenerationOptions(prompt="x", vector=True), LIGHT, {}).route == (
        "text-to-vector"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"guidance": (Guidance("controlnet_canny", "a.png"),)}, "--guidance cannot be combined"),
        ({"image_prompt": "a.png"}, "--image-prompt cannot be combined with --structure-image"),
        ({"aspect_ratio": "16:9"}, "--aspect-ratio 16:9 cannot be combined with --structure-image"),
    ],
)
def test_reimagine_takes_its_structure_image_instead_of_guidance_and_aspect_ratio(
    extra: dict[str, object], message: str
) -> None:
    structure = GenerationOptions(prompt="Lora", structure_image="a.png", num_results=1)
    with pytest.raises(GenerationRefused, match=message):
        check_request(replace(structure, **extra), LIGHT, {"a.png": PNG})  # type: ignore[arg-type]
    request = check_request(replace(structure, seed=3, steps=10), LIGHT, {"a.png": PNG})
    assert set(request.params) == {
        "prompt",
        "num_results",
        "seed",
        "steps_num",
        "structure_image_file",
    }


def test_sample_spelling_names_manifest_fields() -> None:
    with pytest.raises(GenerationRefused) as info:
        check_request(GenerationOptions(prompt="x", steps=30), LIGHT, {}, SAMPLE_FIELDS)
    assert str(info.value) == "steps_num 30 is out of range: in fast mode steps_num must be 4-20"


def test_only_completed_models_generate() -> None:
    check_ready(LIGHT)
    with pytest.raises(GenerationRefused, match="is InProgress, not Completed"):
        check_ready(ModelFacts("lora/x~1", 1, "InProgress", "light", "illustration"))


def test_result_urls_are_read_from_several_answer_shapes() -> None:
    from reconciler.generation.results import GenerationFailed, Result, results_of

    v1 = {"result": [{"urls": ["https://s/a.png"], "seed": 4}, {"blocked": True}]}
    assert results_of(v1, "text-to-image") == [Result("https://s/a.png", 4)]
    assert results_of({"urls": ["https://s/b.png"]}, "x") == [Result("https://s/b.png", None)]
    assert results_of({"result": [{"image_url": "https://s/c.png"}]}, "x")[0].url.endswith("c.png")
    odd = {"data": {"items": [{"file_url": "https://s/d.png", "note": "https://not-a-url-key"}]}}
    assert results_of(odd, "x") == [Result("https://s/d.png", None)]
    with pytest.raises(GenerationFailed, match="holds no result URL"):
        results_of({"status": "ok"}, "text-to-image")


def test_an_aspect_ratio_other_than_the_guidance_images_is_refused() -> None:
    guided = GenerationOptions(prompt="Lora", guidance=(Guidance("controlnet_canny", "a.png"),))
    same = check_request(replace(guided, aspect_ratio="1:1"), LIGHT, {"a.png": PNG})
    assert same.params["aspect_ratio"] == "1:1"
    wide = ImageInput("w.png", b"\x89PNG-bytes", "PNG", 1600, 900)
    widescreen = replace(guided, guidance=(Guidance("controlnet_depth", "w.png"),))
    assert check_request(replace(widescreen, aspect_ratio="16:9"), LIGHT, {"w.png": wide})
    with pytest.raises(
        GenerationRefused, match=r"--aspect-ratio 3:4 does not match .* \(1024x1024\)"
    ):
        check_request(replace(guided, aspect_ratio="3:4"), LIGHT, {"a.png": PNG})
