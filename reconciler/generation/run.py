"""One generation from start to files: check, resolve the model, call, wait, download.

`prepare` does everything that needs no account (manifest facts, image files, every parameter
rule), so a refused request costs no call; `run_job` reads the model's current version, checks it
is Completed (and the rules again, against the account's facts), then generates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.client import BriaClient
from reconciler.generation.inputs import image_paths, read_images
from reconciler.generation.output import default_out_dir, require_writable_folder, write_images
from reconciler.generation.paid import PendingResults, request_key
from reconciler.generation.results import (
    DEFAULT_RESULT_TIMEOUT,
    GenerationFailed,
    Image,
    Result,
    call_route,
    download_results,
    results_of,
)
from reconciler.generation.rules import (
    ROUTE_V2,
    GenerationOptions,
    GenerationRequest,
    ImageInput,
    ModelFacts,
    check_ready,
    check_request,
)
from reconciler.generation.target import (
    find_project,
    find_versions,
    require_declared,
)
from reconciler.state import DesiredState

Progress = Callable[[str], None]
RESUME_TIMEOUT = 60.0  # seconds to wait for an interrupted run's results before generating again


@dataclass(frozen=True)
class GenerationJob:
    project: str
    model: str
    options: GenerationOptions
    images: Mapping[str, ImageInput]


def manifest_facts(desired: DesiredState, project: str, model: str) -> ModelFacts:
    """The model as its manifest declares it (what the rules need), before any call."""
    declared = next(m for m in desired.models if m.project == project and m.name == model)
    medium = next((p.ip_medium for p in desired.projects if p.name == project), "")
    return ModelFacts(
        label=f"{project}/{model}",
        model_id=0,
        status="Completed",
        training_version="" if declared.training_mode else declared.training_version or "",
        ip_medium=medium,
        generation="current" if declared.training_mode else "reference",
    )


def prepare(
    desired: DesiredState, project: str, model: str, options: GenerationOptions
) -> GenerationJob:
    """Refuses (GenerationRefused) what the reference says Bria would refuse; no call."""
    require_declared(desired, project, model)
    images = read_images(image_paths(options))
    check_request(options, manifest_facts(desired, project, model), images)
    return GenerationJob(project, model, options, images)


def _generate_v2(
    client: BriaClient,
    request: GenerationRequest,
    *,
    timeout: float,
    progress: Progress | None,
) -> list[Result]:
    """One /v2 request per image (202s polled at /v2/status); seeds follow a given one."""
    from reconciler.client.generation_wait import generate_and_wait

    results: list[Result] = []
    seed = request.params.get("seed")
    for index in range(request.repeat):
        params = dict(request.params)
        if isinstance(seed, int):
            params["seed"] = seed + index
        if progress and request.repeat > 1:
            progress(f"request {index + 1} of {request.repeat} (/v2: one image per request)")
        done = generate_and_wait(client, request.model_id, timeout=timeout, **params)
        results.append(
            Result(done.image_url, done.seed if done.seed is not None else params.get("seed"))
        )
    return results


def run_job(
    client: BriaClient,
    job: GenerationJob,
    paid: PendingResults,
    *,
    out_dir: Path | None = None,
    timeout: float = DEFAULT_RESULT_TIMEOUT,
    progress: Progress | None = None,
) -> list[Path]:
    """Generate and write the images; results an interrupted run of the same request was
    answered with (and paid for), kept in `paid`, are downloaded instead of generated again."""
    project = find_project(client, job.project)
    current = find_versions(client, project, job.model)[0]
    facts = current.facts(project.ip_medium)
    check_ready(facts)
    request = check_request(job.options, facts, job.images)
    folder = out_dir or default_out_dir(current.label)
    require_writable_folder(folder)
    key = request_key(request)
    if progress:
        count = request.expected_results  # num_results omitted: Bria's default, 4
        what = (
            "downloading the results an interrupted run of this request paid for"
            if paid.pending(key) is not None
            else f"generating {count} image(s)"
        )
        progress(f"{what} with '{current.label}' (model id {current.record.id}, {request.route})")
    images = paid_once(
        client,
        paid,
        key,
        request,
        current.label,
        timeout=timeout,
        echo=progress or (lambda line: None),
        command="generate",
    )
    written = write_images(images, request, current.label, folder)
    paid.drop_pending(key)
    return written


def paid_once(
    client: BriaClient,
    store: PendingResults,
    key: str,
    request: GenerationRequest,
    label: str,
    *,
    timeout: float,
    echo: Callable[[str], None],
    command: str,
) -> list[Image]:
    """The request's images: downloaded from the URLs an interrupted run was answered with (paid
    already), else generated; the answer's URLs are kept (pending) until the caller has stored
    the images and dropped them."""
    paid = store.pending(key)
    if paid is not None:
        try:  # bounded shorter: URLs that still answer nothing may have expired
            resume = min(timeout, RESUME_TIMEOUT)
            return download_results(paid, request.route, timeout=resume, progress=echo)
        except GenerationFailed as err:
            echo(f"{command}: {label}: the interrupted run's results are gone ({err}); generating")
            store.drop_pending(key)
    if request.route == ROUTE_V2:  # /v2 polls its own status URL: nothing to keep in between
        answered = _generate_v2(client, request, timeout=timeout, progress=echo)
    else:
        answered = results_of(call_route(client, request), request.route)
        store.put_pending(key, answered)
    return download_results(answered, request.route, timeout=timeout, progress=echo)
