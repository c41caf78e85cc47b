"""Results paid for and not downloaded yet: `<root>/<key>/pending.json`, for `generate` and
`samples` alike.

Between the call and the download, `pending.json` holds the result URLs Bria answered with: a run
interrupted while waiting for asynchronous results (Ctrl-C, a timeout) has paid for them, so the
next run of the same request downloads those URLs instead of generating (and paying) again. The
key is the SHA-256 of the model id, the route and the exact parameters sent: the same request to
the same model version. `generation.run.paid_once` is the flow that uses it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from reconciler.generation.results import Result
from reconciler.generation.rules import GenerationRequest

PENDING_FORMAT_VERSION = 1


def request_key(request: GenerationRequest) -> str:
    identity = {"model_id": request.model_id, "route": request.route, "request": request.described}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


class PendingResults:
    """The result URLs of requests made but not downloaded, one folder per request key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def pending(self, key: str) -> list[Result] | None:
        """The result URLs of a request made but not downloaded yet, or None."""
        try:
            data = json.loads((self.root / key / "pending.json").read_text(encoding="utf-8"))
            results = [
                Result(
                    str(item["url"]), item["seed"] if isinstance(item.get("seed"), int) else None
                )
                for item in data["results"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return results or None

    def put_pending(self, key: str, results: Sequence[Result]) -> None:
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        items = [{"url": r.url, "seed": r.seed} for r in results]
        text = json.dumps({"format_version": PENDING_FORMAT_VERSION, "results": items}, indent=2)
        (folder / "pending.json").write_text(text + "\n", encoding="utf-8")

    def drop_pending(self, key: str) -> None:
        (self.root / key / "pending.json").unlink(missing_ok=True)
