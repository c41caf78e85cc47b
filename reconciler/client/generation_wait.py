"""Generate with a current-generation model and wait for the image: `generate_and_wait`.

`POST /v2/image/generate/tailored` answers 200 with the image, or 202 with a `request_id` to poll
at `GET /v2/status/{request_id}` until COMPLETED (or ERROR). The polling lives here, apart from
the one-call-per-route client, with its clock and sleep injectable so tests need not wait.
The default pause between polls is a production pause like the others, so
RECONCILER_TEST_PAUSE_SCALE shortens it (reconciler/pauses.py); a `poll_interval` given is taken
as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reconciler.client.api import BriaClient
from reconciler.client.current_records import GenerationAccepted, GenerationResult
from reconciler.errors import ReconcilerError
from reconciler.pauses import scaled

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_POLL_INTERVAL_S = 1.0


class GenerationFailed(ReconcilerError):
    """The status service answered ERROR (or UNKNOWN) for a generation request."""


class GenerationTimedOut(ReconcilerError):
    """The generation was still IN_PROGRESS when the wait ran out."""


def wait_for_generation(
    client: BriaClient,
    request_id: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    poll_interval: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> GenerationResult:
    """Poll the status service until the request is COMPLETED; its result. `poll_interval`
    defaults to DEFAULT_POLL_INTERVAL_S, scaled by the test knob."""
    interval = scaled(DEFAULT_POLL_INTERVAL_S) if poll_interval is None else poll_interval
    deadline = clock() + timeout
    while True:
        status = client.get_generation_status(request_id)
        if status.status == "COMPLETED":
            assert status.result is not None  # parse_generation_status promises it
            return status.result
        if status.status in ("ERROR", "UNKNOWN"):
            reason = f": {status.error}" if status.error else ""
            raise GenerationFailed(
                f"generation request '{request_id}' ended {status.status}{reason}; "
                "check the prompt and the model, then generate again"
            )
        remaining = deadline - clock()
        if remaining <= 0:
            raise GenerationTimedOut(
                f"generation request '{request_id}' is still in progress after {timeout:g} s; "
                f"poll GET /v2/status/{request_id} later or wait longer"
            )
        sleep(min(interval, remaining))


def generate_and_wait(
    client: BriaClient,
    tailored_model_id: int,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    poll_interval: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    **request: Any,
) -> GenerationResult:
    """`client.generate_image_v2(tailored_model_id, **request)`, then (on a 202) the wait.
    `request`: prompt, structured_prompt, seed, sync, aspect_ratio, ... as the route takes."""
    answer = client.generate_image_v2(tailored_model_id, **request)
    if isinstance(answer, GenerationAccepted):
        return wait_for_generation(
            client,
            answer.request_id,
            timeout=timeout,
            poll_interval=poll_interval,
            sleep=sleep,
            clock=clock,
        )
    return answer
