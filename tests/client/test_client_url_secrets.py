"""The API URL carries no query string or fragment, and the token's encoded forms are redacted.

A token pasted as `?api_token=...` would go out in every URL (and into proxy logs); the client
refuses such a URL before sending anything and never echoes the query. The token's base64 and
percent-encoded forms are secrets too: an answer quoting them back is redacted like the token.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_server import Answer, HostileServer, Rule

from reconciler.cli import cli
from reconciler.client import BriaClient, InsecureTransportError

TOKEN = "tok-URLQUERY+/9xq~Z"
PROJECT = (
    "apiVersion: tailored-gen/v1\nkind: Project\nmetadata:\n  name: lora\nspec:\n"
    "  ip_type: defined_character\n  ip_medium: illustration\n  ip_name: Lora\n"
    "  ip_description: a girl with purple hair\n"
)


@pytest.mark.parametrize(
    "url",
    [
        f"https://engine.example/v1?api_token={TOKEN}",
        f"https://engine.example/v1#{TOKEN}",
        "https://engine.example/v1?",
    ],
)
def test_a_query_or_fragment_in_the_api_url_is_refused(url: str) -> None:
    with pytest.raises(InsecureTransportError) as info:
        BriaClient(url, "another-token")
    assert str(info.value) == (
        "API URL 'https://engine.example/v1' carries a query string or fragment; remove it "
        "(the token goes in BRIA_API_TOKEN or --token-file, never in the URL)"
    )


def test_the_cli_refuses_it_in_one_line_without_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.yaml").write_text(PROJECT)
    result = CliRunner().invoke(
        cli,
        ["plan", ".", "--api-url", f"https://engine.example/v1?api_token={TOKEN}"],
        env={"BRIA_API_TOKEN": "tok-other-123456", "NO_COLOR": "1"},
    )
    assert result.exit_code == 1
    assert TOKEN not in result.output
    assert "carries a query string or fragment" in result.output


def test_base64_and_percent_forms_of_the_token_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.yaml").write_text(PROJECT)
    forms = [
        base64.b64encode(TOKEN.encode()).decode(),
        base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
        "tok-URLQUERY%2B%2F9xq~Z",
    ]
    body = {"message": "bad token: " + " | ".join(forms)}
    with HostileServer() as server:
        server.script(Rule("GET", r"/v1/tailored-gen/projects", Answer(400, body)))
        result = CliRunner().invoke(
            cli,
            ["plan", "."],
            env={"BRIA_API_URL": f"{server.url}", "BRIA_API_TOKEN": TOKEN, "NO_COLOR": "1"},
        )
    assert result.exit_code == 1
    assert "bad token" in result.output
    for form in [TOKEN, *forms]:
        assert form not in result.output
