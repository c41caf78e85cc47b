"""The reference's generation parameter rules, checked before any call: one rule, one message.

Generation costs money (Bria: from $0.018 per image) and Bria answers a broken rule with a bare
400, so `reconciler generate` and `reconciler samples` refuse here, naming the rule and the fix,
and never send a request the reference says Bria refuses. Pure: the model's facts and the image
files (already read, see `inputs.py`) are passed in; the result is the exact JSON body to send.

The rules, as the reference states them for `/text-to-image/tailored/{model_id}` and
`/text-to-vector/tailored/{model_id}` (`/reimagine/tailored/{model_id}`, a Light feature, takes
the prompt, count, seed and mode parameters plus a structure reference image, which guides it
instead of the guidance methods and sets the results' aspect ratio):
- the prompt in English, without special characters;
- `num_results` 1-4; 1 or 2 when `fast` is false; 1 with any guidance method;
- `steps_num` 4-20 in fast mode, 20-50 otherwise;
- max models support neither fast mode nor guidance methods (so `fast: false` is sent for them);
- at most `guidance_method_1` and `guidance_method_2` (the documented slots), in order, each with
  an image; scales 0-1; the IP-Adapter (`image_prompt_file`) is a guidance method too;
- guidance images jpeg, png or webp, at most 12 MB, all of one aspect ratio, which is the
  results' aspect ratio (so an `aspect_ratio` that differs from it is refused);
- text-to-vector only for models of illustration projects.

A current-generation model (`training_mode`, Bria's published OpenAPI) generates through
`/v2/image/generate/tailored` instead: one image per request (`num_results` N makes N requests,
seeds following a given one), `steps_num` 20-50, and none of fast mode, guidance methods, the
IP-Adapter, vectors or a structure reference, which that route does not take.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ReconcilerError

ROUTE_IMAGE = "text-to-image"
ROUTE_VECTOR = "text-to-vector"
ROUTE_REIMAGINE = "reimagine"
ROUTE_V2 = "v2/image/generate/tailored"  # current-generation models
V2_STEPS = (20, 50)
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9")
GUIDANCE_METHODS = (
    "controlnet_canny",
    "controlnet_depth",
    "controlnet_recoloring",
    "controlnet_color_grid",
)
MAX_GUIDANCE_METHODS = 2  # guidance_method_1 and guidance_method_2: the documented parameters
IMAGE_PROMPT_MODES = ("regular", "style_only")
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_IMAGE_BYTES = 12_000_000  # "Maximum file size 12MB", the stricter (decimal) reading
MAX_RESULTS = 4
MAX_RESULTS_NOT_FAST = 2
FAST_STEPS = (4, 20)
REGULAR_STEPS = (20, 50)
# English without special characters: letters, digits, spaces and plain punctuation
PROMPT_PUNCTUATION = frozenset(" .,;:!?'\"-()")


class GenerationRefused(ReconcilerError):
    """The request breaks one of the reference's rules; nothing was sent. `field` names the
    request parameter at fault, when one is (a manifest's sample points at that key)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Spelling:
    """How messages name the parameters: command-line flags, or a manifest's `spec.samples`."""

    num_results: str = "--num-results"
    steps: str = "--steps"
    fast: str = "--fast"
    no_fast: str = "--no-fast"
    vector: str = "--vector"


FLAGS = Spelling()
SAMPLE_FIELDS = Spelling("num_results", "steps_num", "fast: true", "fast: false", "vector: true")


@dataclass(frozen=True)
class Guidance:
    """One `--guidance METHOD=IMAGE[:SCALE]`."""

    method: str
    image: str  # a file path
    scale: float | None = None


@dataclass(frozen=True)
class GenerationOptions:
    """What the user asked for, from the command line or a manifest's `spec.samples`."""

    prompt: str
    vector: bool = False
    structure_image: str | None = None
    num_results: int | None = None
    aspect_ratio: str | None = None
    seed: int | None = None
    steps: int | None = None
    fast: bool | None = None
    guidance: tuple[Guidance, ...] = ()
    image_prompt: str | None = None
    image_prompt_mode: str | None = None


@dataclass(frozen=True)
class ModelFacts:
    """What the rules need to know about the model version generating."""

    label: str  # "lora/lora-light~2"
    model_id: int
    status: str
    training_version: str  # light | max; "" for a current-generation model
    ip_medium: str  # the project's: illustration | photography
    generation: str = "reference"  # "current": a training_mode model, generating through /v2


@dataclass(frozen=True)
class ImageInput:
    """An image file read for a request (a guidance, IP-Adapter or structure image)."""

    path: str
    data: bytes | None  # None when it could not be read or decoded
    format: str | None  # Pillow's name: JPEG, PNG, WEBP (or another format, refused)
    width: int = 0
    height: int = 0
    problem: str | None = None  # why it cannot be used: unreadable, not an image, too large


@dataclass(frozen=True)
class GenerationRequest:
    """Exactly what to send: the route, the model id and the JSON body."""

    route: str
    model_id: int
    params: Mapping[str, Any]
    described: Mapping[str, Any]  # `params` with each image as {"file", "sha256"}: for sidecars
    repeat: int = 1  # /v2 makes one image per request: this many requests

    @property
    def expected_results(self) -> int:
        if self.route == ROUTE_V2:
            return self.repeat
        return int(self.params.get("num_results", MAX_RESULTS))


def route_of(options: GenerationOptions) -> str:
    if options.structure_image is not None:
        return ROUTE_REIMAGINE
    return ROUTE_VECTOR if options.vector else ROUTE_IMAGE


def prompt_problem(prompt: str) -> str | None:
    """Why Bria would refuse the prompt (English only, no special characters), or None."""
    if not prompt.strip():
        return "the prompt is empty: say what to generate with --prompt"
    for char in prompt:
        if char.isascii() and (char.isalnum() or char in PROMPT_PUNCTUATION):
            continue
        shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
        return (
            f"the prompt contains {shown}: Bria supports prompts in English only, without "
            "special characters (letters, digits, spaces and . , ; : ! ? ' \" - ( ) only)"
        )
    return None


def check_request(
    options: GenerationOptions,
    model: ModelFacts,
    images: Mapping[str, ImageInput],
    spelling: Spelling = FLAGS,
) -> GenerationRequest:
    """The request to send, or GenerationRefused naming the first broken rule.

    `images` holds every file `options` names (guidance images, image prompt, structure image),
    keyed by path. The model's status is not checked here (see `check_ready`): the parameters
    are checked against the manifest's facts first, before the account is read."""
    problem = prompt_problem(options.prompt)
    if problem:
        raise GenerationRefused(problem, field="prompt")
    if model.generation == "current":
        return _current_generation_request(options, model, spelling)
    route = route_of(options)
    is_max = model.training_version == "max"
    _check_route(options, model, route, is_max, spelling)
    _check_aspect_ratio(options)
    if options.fast is True and is_max:
        raise GenerationRefused(
            f"model '{model.label}' was trained with the 'max' training version, which does not "
            f"support fast generation: drop {spelling.fast} (max models generate with "
            f"{spelling.no_fast})",
            field="fast",
        )
    fast = options.fast if options.fast is not None else not is_max
    guided = bool(options.guidance) or options.image_prompt is not None
    _check_counts(options, fast, guided, spelling)
    _check_guidance(options, model, is_max)
    params: dict[str, Any] = {"prompt": options.prompt}
    described: dict[str, Any] = {"prompt": options.prompt}
    scalars = _scalar_params(options, fast, guided, is_max)
    params.update(scalars)
    described.update(scalars)
    _add_images(options, images, params, described)
    return GenerationRequest(route, model.model_id, params, described)


def _current_generation_request(
    options: GenerationOptions, model: ModelFacts, spelling: Spelling
) -> GenerationRequest:
    """/v2/image/generate/tailored: what it does not take is refused, one message each."""
    what = f"model '{model.label}' is a current-generation model (training_mode)"
    refusals = (
        (options.vector, f"{spelling.vector}: /v2 generates raster images only", "vector"),
        (
            options.structure_image is not None,
            "--structure-image: /v2 takes no structure image",
            None,
        ),
        (bool(options.guidance), "--guidance: /v2 takes no guidance methods", None),
        (options.image_prompt is not None, "--image-prompt: /v2 takes no IP-Adapter image", None),
        (
            options.image_prompt_mode is not None,
            "--image-prompt-mode: /v2 takes no IP-Adapter",
            None,
        ),
        (
            options.fast is not None,
            f"{spelling.fast}/{spelling.no_fast}: /v2 has no fast mode",
            "fast",
        ),
    )
    for refused, reason, field in refusals:
        if refused:
            raise GenerationRefused(f"{what}: drop {reason}", field=field)
    _check_aspect_ratio(options)
    _check_count_range(options, spelling)
    count = options.num_results
    low, high = V2_STEPS
    if options.steps is not None and not low <= options.steps <= high:
        raise GenerationRefused(
            f"{spelling.steps} {options.steps} is out of range: current-generation models take "
            f"steps_num {low}-{high}",
            field="steps_num",
        )
    params: dict[str, Any] = {"prompt": options.prompt}
    if options.aspect_ratio is not None:
        params["aspect_ratio"] = options.aspect_ratio
    if options.seed is not None:
        params["seed"] = options.seed
    if options.steps is not None:
        params["steps_num"] = options.steps
    described = dict(params)
    if count is not None:
        described["num_results"] = count  # requests made, one image each
    return GenerationRequest(ROUTE_V2, model.model_id, params, described, repeat=count or 1)


def check_ready(model: ModelFacts) -> None:
    """Only a Completed model generates."""
    if model.status != "Completed":
        raise GenerationRefused(
            f"model '{model.label}' is {model.status}, not Completed: it cannot generate yet "
            "(see 'reconciler status'; training takes 1-3 hours)"
        )


def _check_route(
    options: GenerationOptions, model: ModelFacts, route: str, is_max: bool, spelling: Spelling
) -> None:
    if options.vector and options.structure_image is not None:
        raise GenerationRefused(
            "--vector and --structure-image cannot be combined: text-to-vector takes no "
            "structure reference (reimagine generates raster images)"
        )
    if route == ROUTE_VECTOR and model.ip_medium != "illustration":
        raise GenerationRefused(
            f"model '{model.label}' belongs to a {model.ip_medium or 'non-illustration'} "
            "project: text-to-vector is compatible only with illustration projects; drop "
            + spelling.vector,
            field="vector",
        )
    if route == ROUTE_REIMAGINE and is_max:
        raise GenerationRefused(
            f"model '{model.label}' was trained with the 'max' training version: structure "
            "reference (--structure-image, reimagine) needs a 'light' model"
        )
    if route == ROUTE_REIMAGINE:
        _check_structure_reference(options)


def _check_structure_reference(options: GenerationOptions) -> None:
    """Reimagine conditions on its structure reference image: the guidance methods of
    text-to-image (ControlNets, IP-Adapter) are not among its parameters, and its results take
    the structure image's aspect ratio."""
    others = (
        (bool(options.guidance), "--guidance"),
        (options.image_prompt is not None, "--image-prompt"),
        (options.image_prompt_mode is not None, "--image-prompt-mode"),
    )
    for given, flag in others:
        if given:
            raise GenerationRefused(
                f"{flag} cannot be combined with --structure-image: reimagine is guided by its "
                "structure reference image, not by text-to-image's guidance methods; drop "
                f"{flag}"
            )
    if options.aspect_ratio is not None:
        raise GenerationRefused(
            f"--aspect-ratio {options.aspect_ratio} cannot be combined with --structure-image: "
            "reimagine's results keep the structure image's aspect ratio; drop --aspect-ratio",
            field="aspect_ratio",
        )


def _check_aspect_ratio(options: GenerationOptions) -> None:
    if options.aspect_ratio is not None and options.aspect_ratio not in ASPECT_RATIOS:
        raise GenerationRefused(
            f"aspect ratio '{options.aspect_ratio}' is not one Bria offers: use one of "
            + ", ".join(ASPECT_RATIOS),
            field="aspect_ratio",
        )


def _check_count_range(options: GenerationOptions, spelling: Spelling) -> None:
    count = options.num_results
    if count is not None and not 1 <= count <= MAX_RESULTS:
        raise GenerationRefused(
            f"{spelling.num_results} {count} is out of range: Bria generates 1 to {MAX_RESULTS} "
            "results",
            field="num_results",
        )


def _check_counts(options: GenerationOptions, fast: bool, guided: bool, spelling: Spelling) -> None:
    _check_count_range(options, spelling)
    count = options.num_results
    low, high = FAST_STEPS if fast else REGULAR_STEPS
    if options.steps is not None and not low <= options.steps <= high:
        mode = "fast mode" if fast else f"regular mode ({spelling.no_fast})"
        raise GenerationRefused(
            f"{spelling.steps} {options.steps} is out of range: in {mode} steps_num must be "
            f"{low}-{high}",
            field="steps_num",
        )
    if count is not None and not fast and count > MAX_RESULTS_NOT_FAST:
        raise GenerationRefused(
            f"{spelling.num_results} {count} is not supported without fast mode: use 1 or 2 "
            f"with {spelling.no_fast} (and with max models)",
            field="num_results",
        )
    if count is not None and count != 1 and guided:
        raise GenerationRefused(
            f"{spelling.num_results} {count} cannot be used with a guidance method (--guidance, "
            f"--image-prompt): Bria generates 1 result then; drop {spelling.num_results} or use 1"
        )


def _check_guidance(options: GenerationOptions, model: ModelFacts, is_max: bool) -> None:
    if options.guidance and is_max:
        raise GenerationRefused(
            f"model '{model.label}' was trained with the 'max' training version, which does not "
            "support guidance methods: drop --guidance (or use a 'light' model)"
        )
    if options.image_prompt is not None and is_max:
        raise GenerationRefused(
            f"model '{model.label}' was trained with the 'max' training version, which does not "
            "support guidance methods such as the IP-Adapter: drop --image-prompt"
        )
    if len(options.guidance) > MAX_GUIDANCE_METHODS:
        raise GenerationRefused(
            f"{len(options.guidance)} guidance methods given: Bria takes at most "
            f"{MAX_GUIDANCE_METHODS} (guidance_method_1, guidance_method_2); drop the extra "
            "--guidance"
        )
    for number, guidance in enumerate(options.guidance, start=1):
        if guidance.method not in GUIDANCE_METHODS:
            raise GenerationRefused(
                f"guidance method '{guidance.method}' (--guidance #{number}) is not one Bria "
                "offers: use " + ", ".join(GUIDANCE_METHODS)
            )
        if not guidance.image:
            raise GenerationRefused(
                f"guidance method '{guidance.method}' has no image: every guidance method needs "
                "one (--guidance METHOD=IMAGE[:SCALE])"
            )
        if guidance.scale is not None and not 0.0 <= guidance.scale <= 1.0:
            raise GenerationRefused(
                f"guidance scale {guidance.scale:g} for '{guidance.method}' is out of range: "
                "use 0 to 1"
            )
    if options.image_prompt_mode is not None:
        if options.image_prompt is None:
            raise GenerationRefused(
                "--image-prompt-mode needs --image-prompt: the mode applies to the IP-Adapter's "
                "image"
            )
        if options.image_prompt_mode not in IMAGE_PROMPT_MODES:
            raise GenerationRefused(
                f"image prompt mode '{options.image_prompt_mode}' is not one Bria offers: use "
                + " or ".join(IMAGE_PROMPT_MODES)
            )


def _scalar_params(
    options: GenerationOptions, fast: bool, guided: bool, is_max: bool
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if options.num_results is not None:
        params["num_results"] = options.num_results
    elif guided:
        params["num_results"] = 1  # the reference: "when using any guidance method, use 1"
    elif not fast:
        params["num_results"] = MAX_RESULTS_NOT_FAST  # the default (4) is refused then
    if options.aspect_ratio is not None:
        params["aspect_ratio"] = options.aspect_ratio
    if options.seed is not None:
        params["seed"] = options.seed
    if options.steps is not None:
        params["steps_num"] = options.steps
    if options.fast is not None or is_max:
        params["fast"] = fast  # max models: the default (true) is refused
    for slot, guidance in enumerate(options.guidance, start=1):
        params[f"guidance_method_{slot}"] = guidance.method
        if guidance.scale is not None:
            params[f"guidance_method_{slot}_scale"] = guidance.scale
    if options.image_prompt_mode is not None:
        params["image_prompt_mode"] = options.image_prompt_mode
    return params


def _add_images(
    options: GenerationOptions,
    images: Mapping[str, ImageInput],
    params: dict[str, Any],
    described: dict[str, Any],
) -> None:
    ratios: list[tuple[str, float]] = []
    for slot, guidance in enumerate(options.guidance, start=1):
        image = _usable(images, guidance.image, f"guidance image for '{guidance.method}'")
        _attach(image, f"guidance_method_{slot}_image_file", params, described)
        ratios.append((image.path, image.width / image.height))
    if len(ratios) > 1:
        first_path, first = ratios[0]
        for path, ratio in ratios[1:]:
            if abs(ratio - first) > 0.01:
                raise GenerationRefused(
                    f"guidance images '{first_path}' and '{path}' have different aspect ratios: "
                    "all guidance images must share one (it becomes the results' aspect ratio)"
                )
    if ratios and options.aspect_ratio is not None:
        width, _, height = options.aspect_ratio.partition(":")
        path, ratio = ratios[0]
        if abs(ratio - int(width) / int(height)) > 0.01:
            image = images[path]
            raise GenerationRefused(
                f"--aspect-ratio {options.aspect_ratio} does not match the guidance image "
                f"'{path}' ({image.width}x{image.height}): the guidance images' aspect ratio is "
                "the results' aspect ratio; drop --aspect-ratio"
            )
    if options.image_prompt is not None:
        image = _usable(images, options.image_prompt, "image prompt (--image-prompt)")
        _attach(image, "image_prompt_file", params, described)
    if options.structure_image is not None:
        image = _usable(images, options.structure_image, "structure image (--structure-image)")
        _attach(image, "structure_image_file", params, described)


def _usable(images: Mapping[str, ImageInput], path: str, what: str) -> ImageInput:
    image = images.get(path)
    if image is None or image.data is None:
        problem = image.problem if image is not None and image.problem else "cannot be read"
        raise GenerationRefused(f"{what} '{path}' {problem}")
    if image.format not in IMAGE_FORMATS:
        raise GenerationRefused(
            f"{what} '{path}' is a {image.format or 'unknown'} image: Bria accepts jpeg, png "
            "and webp"
        )
    if len(image.data) > MAX_IMAGE_BYTES:
        raise GenerationRefused(
            f"{what} '{path}' is {len(image.data):,} bytes: Bria accepts at most 12 MB "
            f"({MAX_IMAGE_BYTES:,} bytes)"
        )
    if image.width <= 0 or image.height <= 0:
        raise GenerationRefused(f"{what} '{path}' has no size: it is not a usable image")
    return image


def _attach(
    image: ImageInput, field: str, params: dict[str, Any], described: dict[str, Any]
) -> None:
    assert image.data is not None
    params[field] = base64.b64encode(image.data).decode("ascii")
    described[field] = {"file": image.path, "sha256": hashlib.sha256(image.data).hexdigest()}
