"""The baseline of emulator_cpu.py: a bare Starlette app on the emulator's uvicorn settings.

    python bench/bare_app.py ANSWERS.json

It answers the measured routes with the emulator's own answers (from ANSWERS.json, kept as
Python objects and JSON-encoded per request) and reads and parses an upload's JSON body, doing
nothing else: the framework's share of a request.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.emulator.server import bind_socket, url_of, uvicorn_server


def bare_app(answers: dict[str, object]) -> Starlette:
    def answering(name: str, status: int = 200) -> object:
        async def endpoint(request: Request) -> Response:
            if request.method == "POST":
                json.loads(await request.body())
            return JSONResponse(answers[name], status_code=status)

        return endpoint

    return Starlette(
        routes=[
            Route("/v1/tailored-gen/projects", answering("list projects"), methods=["GET"]),
            Route("/v1/tailored-gen/datasets/{dataset_id}/images", answering("list images"),
                  methods=["GET"]),
            Route("/v1/tailored-gen/datasets/{dataset_id}/images",
                  answering("upload image", 201), methods=["POST"]),
            Route("/v1/tailored-gen/models/{model_id}", answering("get model"), methods=["GET"]),
        ]
    )  # fmt: skip


def main() -> None:
    answers = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    sock = bind_socket("127.0.0.1", 0)
    print(f"bare app listening on {url_of(sock)}", flush=True)
    uvicorn_server(bare_app(answers)).run(sockets=[sock])


if __name__ == "__main__":
    main()
