"""Writes that may already have happened: retry them only after recognising our own work.

The client does not retry a POST or DELETE after a 5xx or a dropped connection, because Bria may
have acted and only the answer was lost. Here, before each new attempt, the engine re-reads the
account and looks for what the lost request would have made: a project by `project_name`, a
dataset by name in its project, a model by name in its project, an image by `image_name` in its
dataset (the name carries the content digest), a training by the model's status. Found means
done; not found means the write never happened and is safe to send again. Attempts are bounded,
with exponential backoff and full jitter.

A success answer that cannot be read (the reference's own samples answer `{}` to an upload; a
proxy may answer with a page) most likely means the write happened: the account is re-read at
once, found means done, and not found stops the step with a clear message instead of guessing.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.client import (
    BriaClient,
    DatasetRecord,
    ImageRecord,
    MalformedResponse,
    ModelRecord,
    NotFound,
    ProjectRecord,
    RateLimited,
    ServerError,
    TransportError,
)
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


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff and full jitter."""

    attempts: int = 6
    base_seconds: float = 0.25
    max_seconds: float = 15.0

    def delay(self, attempt: int, err: Exception | None = None) -> float:
        if isinstance(err, RateLimited) and err.retry_after is not None:
            return min(err.retry_after, self.max_seconds)
        return random.uniform(0, min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1)))


def _may_have_acted(err: Exception) -> bool:
    if isinstance(err, RateLimited):
        return False  # 429: Bria refused before acting
    if isinstance(err, TransportError):
        return err.maybe_sent
    return True  # ServerError: acted or not, we cannot tell


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
) -> T:
    """Run `write`; after a failure that may have acted, `recognise` before writing again.

    An unreadable success answer is recognised at once: found means done, not found stops."""
    last: Exception | None = None
    for attempt in range(1, policy.attempts + 1):
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
            last = err
            sleep_or_cancel(policy.delay(attempt, err), cancel)
            if _may_have_acted(err):
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
            last = err
            if attempt == policy.attempts:
                break
            sleep_or_cancel(policy.delay(attempt, err), cancel)
    raise WriteGaveUp(f"{what}: gave up after {policy.attempts} attempts: {last}") from last


# ---------------------------------------------------------------- finding our own work


def find_project(client: BriaClient, project_name: str) -> ProjectRecord | None:
    matches = [p for p in client.list_projects() if p.project_name == project_name]
    return min(matches, key=lambda p: p.id) if matches else None


def find_dataset(client: BriaClient, project_id: int, name: str) -> DatasetRecord | None:
    matches = [d for d in client.list_project_datasets(project_id) if d.name == name]
    return min(matches, key=lambda d: d.id) if matches else None


def find_model(client: BriaClient, project_id: int, name: str) -> ModelRecord | None:
    matches = [
        m
        for m in client.list_project_models(project_id)
        if m.name == name and m.status != ModelStatus.DELETED
    ]
    return min(matches, key=lambda m: m.id) if matches else None


def find_image(client: BriaClient, dataset_id: int, image_name: str) -> ImageRecord | None:
    matches = [i for i in client.list_images(dataset_id) if i.image_name == image_name]
    return min(matches, key=lambda i: i.id) if matches else None


def find_started_training(client: BriaClient, model_id: int) -> ModelRecord | None:
    """The model, when a start_training whose answer was lost did start it."""
    model = client.get_model(model_id)
    return None if model.status == ModelStatus.CREATED else model
