"""Parameter rules of the three tailored generation routes, as the reference states them.

`/text-to-image/tailored/{model_id}` and `/text-to-vector/tailored/{model_id}` share one
parameter set; `/reimagine/tailored/{model_id}` (not detailed in the reference) takes the same
set plus a structure reference image. Pure checks: the model's state is passed in.

The IP-Adapter (`image_prompt_file` / `image_prompt_urls`) is a guidance method too: the
reference lists it under "Guidance Methods", so it is refused on max models and, like the
ControlNets, allows one result; `num_results` omitted with any guidance method means 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.emulator import images
from reconciler.emulator.rules import ApiError, check_enum, require_object

ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9")
GUIDANCE_METHODS = (
    "controlnet_canny",
    "controlnet_depth",
    "controlnet_recoloring",
    "controlnet_color_grid",
)
IMAGE_PROMPT_MODES = ("regular", "style_only")
GUIDANCE_SLOTS = (1, 2)
ROUTES = ("text-to-image", "text-to-vector", "reimagine")


@dataclass(frozen=True)
class GenerationRequest:
    route: str
    prompt: str
    num_results: int
    aspect_ratio: str
    seed: int | None
    sync: bool


def _flag(body: dict[str, Any], field: str, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise ApiError(400, f"Invalid {field}: must be a boolean")
    return value


def _int_in(body: dict[str, Any], field: str, default: int, low: int, high: int) -> int:
    value = body.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"Invalid {field}: must be an integer")
    if not low <= value <= high:
        raise ApiError(400, f"Invalid {field} {value}: must be between {low} and {high}")
    return value


def _scale(body: dict[str, Any], field: str) -> None:
    value = body.get(field, 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"Invalid {field}: must be a number")
    if not 0.0 <= value <= 1.0:
        raise ApiError(400, f"Invalid {field} {value}: must be between 0 and 1")


def _image_field(body: dict[str, Any], field: str) -> bytes:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"Invalid {field}: a base64 image is required")
    data = images.decode_base64(value, field)
    images.sniff(data, what="Guidance image")
    return data


def check_generation(
    route: str, body: Any, *, training_version: str, ip_medium: str
) -> GenerationRequest:
    """Every parameter rule; raises ApiError(400/415) on the first broken one."""
    body = require_object(body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ApiError(400, "Missing required field: prompt")
    is_max = training_version == "max"
    if route == "text-to-vector" and ip_medium != "illustration":
        raise ApiError(400, "Text-to-vector is compatible only with illustrative tailored models")
    if route == "reimagine" and is_max:
        raise ApiError(400, "Models trained with the 'max' version do not support reimagine")
    fast = _flag(body, "fast", default=not is_max)
    if fast and is_max:
        raise ApiError(400, "Models trained with the 'max' version do not support fast generation")
    sync = _flag(body, "sync", default=route == "text-to-vector")
    _flag(body, "include_generation_prefix", default=True)
    guidance_used = _guidance_requested(body)
    if guidance_used and is_max:
        raise ApiError(400, "Models trained with the 'max' version do not support guidance methods")
    default_results = 1 if guidance_used else 4 if fast else 2
    num_results = _int_in(body, "num_results", default_results, 1, 4)
    if not fast and num_results > 2:
        raise ApiError(400, "When fast=false, only num_results 1, 2 are supported")
    if fast:
        _int_in(body, "steps_num", 8, 4, 20)
    else:
        _int_in(body, "steps_num", 30, 20, 50)
    aspect_ratio = check_enum("aspect_ratio", body.get("aspect_ratio", "1:1"), ASPECT_RATIOS)
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ApiError(400, "Invalid seed: must be an integer")
    _scale(body, "model_influence")
    _check_guidance(body)
    if guidance_used and num_results != 1:
        raise ApiError(400, "When using a guidance method, num_results must be 1")
    _check_image_prompt(body)
    if route == "reimagine":
        _check_structure_reference(body)
    return GenerationRequest(route, prompt, num_results, aspect_ratio, seed, sync)


def _guidance_requested(body: dict[str, Any]) -> bool:
    """A ControlNet slot or the IP-Adapter is asked for (checked in detail afterwards)."""
    controlnet = any(body.get(f"guidance_method_{slot}") is not None for slot in GUIDANCE_SLOTS)
    ip_adapter = any(body.get(f) is not None for f in ("image_prompt_file", "image_prompt_urls"))
    return controlnet or ip_adapter


def _check_guidance(body: dict[str, Any]) -> None:
    methods = {slot: body.get(f"guidance_method_{slot}") for slot in GUIDANCE_SLOTS}
    used = [slot for slot, method in methods.items() if method is not None]
    if methods[2] is not None and methods[1] is None:
        raise ApiError(400, "guidance_method_2 requires guidance_method_1")
    ratios: list[float] = []
    for slot in used:
        check_enum(f"guidance_method_{slot}", methods[slot], GUIDANCE_METHODS)
        _scale(body, f"guidance_method_{slot}_scale")
        field = f"guidance_method_{slot}_image_file"
        if body.get(field) is None:
            raise ApiError(400, f"{field} is required when guidance_method_{slot} is set")
        ratios.append(images.aspect_ratio_of(_image_field(body, field)))
    if len(ratios) > 1 and any(abs(ratio - ratios[0]) > 0.01 for ratio in ratios):
        raise ApiError(400, "All guidance images must have the same aspect ratio")


def _check_image_prompt(body: dict[str, Any]) -> None:
    check_enum("image_prompt_mode", body.get("image_prompt_mode", "regular"), IMAGE_PROMPT_MODES)
    _scale(body, "image_prompt_scale")
    if body.get("image_prompt_file") is not None:
        _image_field(body, "image_prompt_file")
    urls = body.get("image_prompt_urls")
    if urls is not None and (
        not isinstance(urls, list) or not all(isinstance(url, str) and url for url in urls)
    ):
        raise ApiError(400, "Invalid image_prompt_urls: must be a list of URLs")


def _check_structure_reference(body: dict[str, Any]) -> None:
    if body.get("structure_image_file") is not None:
        _image_field(body, "structure_image_file")
    elif not isinstance(body.get("structure_image_url"), str):
        raise ApiError(400, "Either structure_image_file or structure_image_url must be provided")
    _scale(body, "structure_ref_influence")
