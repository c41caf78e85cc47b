"""Writes that may already have happened: retry them only after recognising our own work.

The client does not retry a POST or DELETE after a 5xx or a dropped connection, because Bria may
have acted and only the answer was lost. Here, before each new attempt, the engine re-reads the
account and looks for what the lost request would have made: a project by `project_name`, a
dataset by name in its project, a model by name in its project, an image by `image_name` in its
dataset (the name carries the content digest), a training by the model's status. Found means
done; not found means the write never happened and is safe to send again. Attempts are bounded,
with the shared backoff. Only those writes are retried here: what the client already retried (a
429, a PUT, a request never sent) is final when it reaches the engine
(`reconciler.client.retry_policy`, the one home of who retries what), so a persistent 429 costs
the client's attempts, not the client's times the engine's.

A success answer that cannot be read (the reference's own samples answer `{}` to an upload; a
proxy may answer with a page) most likely means the write happened: the account is re-read at
once, found means done, and not found stops the step with a clear message instead of guessing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from reconciler.client import (
    BriaClient,
    ImageRecord,
    MalformedResponse,
    ModelRecord,
    NotFound,
    ProjectRecord,
    RateLimited,
    ServerError,
    TransportError,
)
from reconciler.client.retry_policy import RetryPolicy, engine_may_retry
from reconciler.errors import ReconcilerError
from reconciler.state import ModelStatus

T = TypeVar("T")


class WriteGaveUp(ReconcilerError):
    """A write kept failing after every bounded attempt."""


class WriteUnconfirmed(ReconcilerError):
    """A write answered with something unreadable, and the re-read does not show its result."""


class StepInterrupted(ReconcilerError):
    """Ctrl-C arrived while a step was waiting; the step is reported as not done."""

    exit_code = 130


__all__ = ["RetryPolicy"]  # re-exported: reconciler.apply.RetryPolicy


def _may_act_later(err: Exception) -> bool:
    """No answer at all, or a gateway's (502/503/504): Bria may still be working on the request
    and carry it out after the client gave up. A 500 from Bria itself came after it was done."""
    if isinstance(err, TransportError):
        return err.maybe_sent
    return isinstance(err, ServerError) and err.status in (502, 503, 504)


def sleep_or_cancel(seconds: float, cancel: threading.Event | None) -> None:
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise StepInterrupted("interrupted while waiting to retry")


def write_once(
    what: str,
    write: Callable[[], T],
    recognise: Callable[[], T | None],
    *,
    policy: RetryPolicy,
    cancel: threading.Event | None = None,
    on_uncertain: Callable[[float], None] | None = None,
) -> T:
    """Run `write`; after a failure that may have acted, `recognise` before writing again.

    An unreadable success answer is recognised at once: found means done, not found stops.
    `on_uncertain(sent_at)` hears of every attempt that got no answer (or a gateway's), whose
    result may still land later (see late_copies)."""
    last: Exception | None = None
    for attempt in range(1, policy.attempts + 1):
        sent_at = time.monotonic()
        try:
            return write()
        except MalformedResponse as err:
            found = recognise()
            if found is not None:
                return found
            raise WriteUnconfirmed(
                f"{what}: {err}; not found when the account was re-read, so it was not sent "
                "again: check that --api-url reaches Bria itself, then run apply again"
            ) from err
        except (ServerError, TransportError, RateLimited) as err:
            if not engine_may_retry(err):
                raise  # the client's to retry, and it already did
            last = err
            if on_uncertain is not None and _may_act_later(err):
                on_uncertain(sent_at)
            sleep_or_cancel(policy.delay(attempt), cancel)
            found = recognise()  # also after the last attempt: it may have acted
            if found is not None:
                return found
    raise WriteGaveUp(f"{what}: gave up after {policy.attempts} attempts: {last}") from last


def delete_once(
    what: str,
    delete: Callable[[], None],
    *,
    policy: RetryPolicy,
    cancel: threading.Event | None = None,
) -> str:
    """Run `delete`; a 404 (first try, or after a lost answer) means it is gone: done."""
    last: Exception | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            delete()
            return "deleted"
        except NotFound:
            return "already gone" if attempt == 1 else "deleted (the first answer was lost)"
        except (ServerError, TransportError, RateLimited) as err:
            if not engine_may_retry(err):
                raise  # the client's to retry, and it already did
            last = err
            if attempt == policy.attempts:
                break
            sleep_or_cancel(policy.delay(attempt), cancel)
    raise WriteGaveUp(f"{what}: gave up after {policy.attempts} attempts: {last}") from last


# ---------------------------------------------------------------- finding our own work


def find_project(client: BriaClient, project_name: str) -> ProjectRecord | None:
    matches = [p for p in client.list_projects() if p.project_name == project_name]
    return min(matches, key=lambda p: p.id) if matches else None


def find_image(client: BriaClient, dataset_id: int, image_name: str) -> ImageRecord | None:
    matches = [i for i in client.list_images(dataset_id) if i.image_name == image_name]
    return min(matches, key=lambda i: i.id) if matches else None


def find_started_training(client: BriaClient, model_id: int) -> ModelRecord | None:
    """The model, when a start_training whose answer was lost did start it."""
    model = client.get_model(model_id)
    return None if model.status == ModelStatus.CREATED else model
