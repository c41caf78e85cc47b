"""The route table matches exactly as one Starlette `Route` per template and trailing slash did
(first full match wins, a path served under another method is a partial match), over the
emulator's real templates and paths built from their pieces."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.routing import Match, Route

from reconciler.emulator.app import create_app
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.route_table import RouteTable


def _names() -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(EmulatorConfig(api_profile="current"), Path(folder))
        app.state.emulator.storage.close()
    return [name for table in app.routes if isinstance(table, RouteTable) for name in table.names]


NAMES = _names()


def _endpoint(name: str) -> Any:
    async def endpoint(request: Any) -> Any:
        raise AssertionError("not called")

    endpoint.__name__ = name
    return endpoint


ENDPOINTS = {name: _endpoint(name) for name in NAMES}
TABLE = RouteTable((*name.split(" "), endpoint) for name, endpoint in ENDPOINTS.items())
STARLETTE = [
    Route(name.split(" ")[1] + slash, endpoint, methods=[name.split(" ")[0]])
    for name, endpoint in ENDPOINTS.items()
    for slash in ("", "/")
]
PIECES = sorted({part for name in NAMES for part in name.split(" ")[1].split("/")} | {
    "", "12", "a b", "x%2Fy", "é", "images", "{model_id}", "..",
})  # fmt: skip


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _starlette(scope: dict[str, Any]) -> tuple[Match, Any, dict[str, Any]]:
    """What Starlette's router picked: the first full match, else the first partial one."""
    partial = None
    for route in STARLETTE:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return match, child["endpoint"], child["path_params"]
        if match is Match.PARTIAL and partial is None:
            partial = (match, None, child["path_params"])
    return partial or (Match.NONE, None, {})


def _table(scope: dict[str, Any]) -> tuple[Match, Any, dict[str, Any]]:
    match, child = TABLE.matches(scope)
    return match, child.get("endpoint"), child.get("path_params", {})


@st.composite
def _paths(draw: st.DrawFn) -> list[str]:
    """A template's segments with its params filled in and perhaps one piece changed, or any
    pieces at all."""
    piece = st.sampled_from(PIECES)
    if draw(st.booleans()):
        return draw(st.lists(piece, min_size=1, max_size=7))
    parts = draw(st.sampled_from(NAMES)).split(" ")[1].split("/")[1:]
    parts = [draw(piece) if part.startswith("{") else part for part in parts]
    at = draw(st.integers(0, len(parts)))
    change = draw(st.sampled_from(["keep", "replace", "insert", "drop"]))
    if change == "replace" and at < len(parts):
        parts[at] = draw(piece)
    elif change == "insert":
        parts.insert(at, draw(piece))
    elif change == "drop" and at < len(parts):
        del parts[at]
    return parts


@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    parts=_paths(),
    slash=st.sampled_from(["", "/", "//"]),
)
def test_matches_like_one_starlette_route_per_template(
    method: str, parts: list[str], slash: str
) -> None:
    scope = _scope(method, "/" + "/".join(parts) + slash)
    assert _table(scope) == _starlette(scope)


@pytest.mark.parametrize("name", NAMES)
def test_every_template_matches_itself_and_its_neighbours_alike(name: str) -> None:
    method, template = name.split(" ")
    path = template.replace("{", "7").replace("}", "")  # every {param} a plain segment
    for given_path in (path, path + "/"):
        match, endpoint, _ = _table(_scope(method, given_path))
        assert (match, endpoint) == (Match.FULL, ENDPOINTS[name])
    empty_params = re.sub(r"\{[^}]*\}", "", template)
    for other_method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"):
        for given_path in (path, path + "/", path + "//", empty_params, path + "/x", path[:-1]):
            scope = _scope(other_method, given_path)
            assert _table(scope) == _starlette(scope), (other_method, given_path)


def test_ambiguous_templates_are_refused() -> None:
    def endpoint(request: Any) -> Any:
        return None

    with pytest.raises(ValueError, match="'/a/b' is ambiguous"):
        RouteTable([("GET", "/a/{x}", endpoint), ("GET", "/a/b", endpoint)])
    with pytest.raises(ValueError, match="'GET /a' is given twice"):
        RouteTable([("GET", "/a", endpoint), ("GET", "/a", endpoint)])
