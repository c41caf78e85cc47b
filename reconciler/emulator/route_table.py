"""The API's routes as one Starlette route that finds an operation by walking its path.

Starlette's router tries each route's regex in turn: the emulator serves some 60 API routes
(each with and without a trailing slash), so a `GET /models/{id}` was matched against 40
patterns, a fifth of the emulator's own CPU per request. Here the route templates form a tree of
path segments, and a request walks it once. Matching means what it did with one `Route` per
template and slash: a `{param}` is one non-empty segment, one trailing slash is allowed, GET
also answers HEAD, and a path that an operation serves under another method is a 405.

To keep the walk unambiguous (so its answer is the one Starlette's first match gave), no node
has both a `{param}` child and literal children; the table refuses such a template set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, NoMatchFound, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[..., Any]


@dataclass
class _Node:
    literals: dict[str, _Node] = field(default_factory=dict)
    param: str | None = None  # the name of this position's {param}, if it is one
    param_child: _Node | None = None
    apps: dict[str, tuple[Endpoint, ASGIApp]] = field(default_factory=dict)  # by method


class RouteTable(BaseRoute):
    """(method, path template, endpoint) operations, matched by one walk over the path."""

    def __init__(self, operations: Iterable[tuple[str, str, Endpoint]]) -> None:
        self._root = _Node()
        self.names: list[str] = []  # "METHOD /template", as the stats name routes
        self._apps: dict[Endpoint, ASGIApp] = {}
        for method, template, endpoint in operations:
            self._add(method, template, endpoint)

    def _add(self, method: str, template: str, endpoint: Endpoint) -> None:
        node = self._root
        for segment in _segments(template):
            if segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                if node.literals or (node.param is not None and node.param != name):
                    raise ValueError(f"route '{template}' is ambiguous with another route")
                node.param = name
                node.param_child = node.param_child or _Node()
                node = node.param_child
            else:
                if node.param is not None:
                    raise ValueError(f"route '{template}' is ambiguous with another route")
                node = node.literals.setdefault(segment, _Node())
        if method in node.apps:
            raise ValueError(f"route '{method} {template}' is given twice")
        app = request_response(endpoint)
        for served in (method, "HEAD") if method == "GET" else (method,):
            node.apps[served] = (endpoint, app)
        self._apps[endpoint] = app
        self.names.append(f"{method} {template}")

    def _find(self, path: str) -> tuple[_Node, dict[str, str]] | None:
        node, params = self._root, {}
        for segment in _segments(path.removesuffix("/") if len(path) > 1 else path):
            found = node.literals.get(segment)
            if found is None:
                if node.param_child is None or node.param is None or not segment:
                    return None
                params[node.param] = segment
                found = node.param_child
            node = found
        return (node, params) if node.apps else None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        found = self._find(_route_path(scope))
        if found is None:
            return Match.NONE, {}
        node, params = found
        path_params = {**scope.get("path_params", {}), **params}
        served = node.apps.get(scope["method"])
        if served is None:
            return Match.PARTIAL, {"path_params": path_params}
        return Match.FULL, {"endpoint": served[0], "path_params": path_params}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._apps.get(scope.get("endpoint"))  # type: ignore[arg-type]
        if app is None:  # a partial match: the path is served, not with this method
            found = self._find(_route_path(scope))
            allowed = sorted(found[0].apps) if found else []
            raise HTTPException(status_code=405, headers={"Allow": ", ".join(allowed)})
        await app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)


def _segments(path: str) -> list[str]:
    return path.split("/")[1:]


def _route_path(scope: Scope) -> str:
    """The path below the app's mount point (`root_path`), as Starlette's routes match it."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path
