"""`reconciler generate PROJECT/MODEL`: generate images with a declared model's current version.

Every parameter rule of the reference is checked against the manifest's facts (training version,
project medium) before anything is read from the account, so a request Bria would refuse costs
no call at all; the model's status (only Completed generates) is checked once the account is
read. `--structure-image` uses reimagine, `--vector` text-to-vector, else text-to-image.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.commands.invocation import (
    connection_options,
    connection_settings,
    load_desired,
)
from reconciler.commands.one_line_usage import OneLineUsageErrors
from reconciler.connection import open_client
from reconciler.generation.results import DEFAULT_RESULT_TIMEOUT
from reconciler.generation.rules import (
    IMAGE_PROMPT_MODES,
    GenerationOptions,
    GenerationRefused,
    Guidance,
)
from reconciler.workspace import state_dir


def parse_guidance(value: str) -> Guidance:
    """`METHOD=IMAGE[:SCALE]`; the scale is the part after the last ':' when it is a number."""
    method, equals, rest = value.partition("=")
    if not equals or not method.strip():
        raise GenerationRefused(
            f"--guidance '{value}' is not METHOD=IMAGE[:SCALE], e.g. "
            "--guidance controlnet_canny=edges.png:0.8"
        )
    image, colon, tail = rest.rpartition(":")
    if colon:
        try:
            return Guidance(method.strip(), image, float(tail))
        except ValueError:
            pass
    return Guidance(method.strip(), rest)


@click.command(name="generate", cls=OneLineUsageErrors)
@click.argument("address", metavar="PROJECT/MODEL")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--prompt", required=True, help="What to generate (English, no special characters).")
@click.option("--vector", is_flag=True, help="Generate vector graphics (text-to-vector).")
@click.option(
    "--structure-image",
    type=click.Path(dir_okay=False),
    help="A structure reference image: generate with reimagine (light models; it guides alone).",
)
@click.option("--num-results", type=int, help="How many images (1-4; 1 with guidance).")
@click.option("--aspect-ratio", help="1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16 or 16:9.")
@click.option(
    "--seed", type=click.IntRange(min=0), help="A fixed seed (0 or more), to recreate a result."
)
@click.option("--steps", type=int, help="steps_num: 4-20 in fast mode, 20-50 with --no-fast.")
@click.option("--fast/--no-fast", default=None, help="Fast mode (not for max models).")
@click.option(
    "--guidance",
    "guidance",
    multiple=True,
    metavar="METHOD=IMAGE[:SCALE]",
    help="A ControlNet guidance method with its image (at most 2, in order).",
)
@click.option(
    "--image-prompt", type=click.Path(dir_okay=False), help="An IP-Adapter guidance image."
)
@click.option(
    "--image-prompt-mode", help=f"The IP-Adapter mode: {' or '.join(IMAGE_PROMPT_MODES)}."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write the images here (default ./generated/PROJECT/MODEL~N/).",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_RESULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for asynchronous results.",
)
@connection_options
@click.pass_context
def generate(
    ctx: click.Context,
    address: str,
    paths: tuple[str, ...],
    prompt: str,
    vector: bool,
    structure_image: str | None,
    num_results: int | None,
    aspect_ratio: str | None,
    seed: int | None,
    steps: int | None,
    fast: bool | None,
    guidance: tuple[str, ...],
    image_prompt: str | None,
    image_prompt_mode: str | None,
    out_dir: str | None,
    wait_timeout: float,
    api_url: str | None,
    token_file: str | None,
    use_emulator: bool,
) -> None:
    """Generate images with a declared model's current version; print the files written."""
    from reconciler.generation.paid import PendingResults
    from reconciler.generation.run import GenerationJob, prepare, run_job
    from reconciler.generation.target import split_address

    project, model = split_address(address)
    options = GenerationOptions(
        prompt=prompt,
        vector=vector,
        structure_image=structure_image,
        num_results=num_results,
        aspect_ratio=aspect_ratio,
        seed=seed,
        steps=steps,
        fast=fast,
        guidance=tuple(parse_guidance(value) for value in guidance),
        image_prompt=image_prompt,
        image_prompt_mode=image_prompt_mode,
    )
    desired = load_desired(paths, show_warnings=False)
    job: GenerationJob = prepare(desired, project, model, options)  # no call before this passes
    settings = connection_settings(ctx, api_url, token_file, use_emulator)
    with open_client(settings) as client:
        written = run_job(
            client,
            job,
            PendingResults(state_dir() / "generate"),
            out_dir=Path(out_dir) if out_dir else None,
            timeout=wait_timeout,
            progress=lambda line: click.echo(line, err=True),
        )
    for path in written:
        click.echo(str(path))
