"""Issue 5, hostile API answers: the real CLI against a Bria that answers badly.

`reconciler plan` and `reconciler apply --auto-approve` (the real click commands, in-process)
run against `HostileServer` (tests/hostile_server.py), which forwards to a real emulator holding
a seeded account and breaks one kind of answer: malformed JSON, HTML pages (200 and 502), wrong
shapes, missing or mistyped fields, unknown statuses, truncated bodies, hang-ups and redirects.
Each run must exit 1 with one clear line naming the call and what was wrong, never a traceback,
and must send no write at all: the manifests hold pending changes, so a misread account would
show up as a write the server records. Writes whose answers are unreadable live in
test_hostile_writes.py; the hypothesis suite over answers in test_hostile_properties.py.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hostile_server import HTML_502, HTML_LOGIN, Answer, HostileServer, Rule, html
from manifest_builders import ManifestTree, standard_tree

from reconciler.cli import cli
from reconciler.emulator.server import EmulatorServer

TOKEN = "tok-HOSTILE-7e31c0aa52"
PROJECTS = "/v1/tailored-gen/projects"
DATASETS = r"/v1/tailored-gen/projects/\d+/datasets"
IMAGES = r"/v1/tailored-gen/datasets/\d+/images"


@dataclass
class Account:
    """A seeded emulator account, its real answers, and manifests with pending changes."""

    root: Path
    emulator: EmulatorServer
    tree: ManifestTree
    projects: list[dict[str, Any]]
    datasets: list[dict[str, Any]]
    project_id: int
    dataset_id: int


def cli_env(url: str) -> dict[str, str]:
    return {"BRIA_API_URL": url, "BRIA_API_TOKEN": TOKEN, "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    """`lora` applied to a fresh emulator, then the manifests changed (one more image, a new
    model), so any plan has changes and any apply that misread the account would write."""
    root = tmp_path_factory.mktemp("hostile")
    old_cwd = Path.cwd()
    os.chdir(root)
    try:
        with EmulatorServer(root / "emu", token=TOKEN, training_seconds=600) as emulator:
            tree = standard_tree(root, images=2)
            tree.write()
            seeded = CliRunner().invoke(
                cli, ["apply", "manifests", "--auto-approve"], env=cli_env(emulator.url)
            )
            assert seeded.exit_code == 0, seeded.output
            tree.images[("lora", "lora-v1")]["lora-03.png"] = 3
            tree.model("lora", "lora-max", "lora-v1", training_version="max")
            tree.write()
            headers = {"api_token": TOKEN}
            projects = httpx.get(f"{emulator.url}/tailored-gen/projects", headers=headers).json()
            project_id = projects[0]["id"]
            datasets = httpx.get(
                f"{emulator.url}/tailored-gen/projects/{project_id}/datasets",
                params={"include_models": "true"},
                headers=headers,
            ).json()
            yield Account(root, emulator, tree, projects, datasets, project_id, datasets[0]["id"])
    finally:
        os.chdir(old_cwd)


@pytest.fixture
def hostile(account: Account, monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileServer]:
    monkeypatch.chdir(account.root)
    with HostileServer(account.emulator.url) as server:
        yield server


@dataclass(frozen=True)
class Outcome:
    command: str
    exit_code: int
    stdout: str
    stderr: str

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


COMMANDS = {"plan": ["plan", "manifests"], "apply": ["apply", "manifests", "--auto-approve"]}


def run_plan_and_apply(url: str) -> list[Outcome]:
    """`plan` then `apply --auto-approve`, in-process (CliRunner, the real click command; the
    retries' backoff is scaled down by the suite's RECONCILER_TEST_PAUSE_SCALE)."""
    outcomes = []
    for name, args in COMMANDS.items():
        result = CliRunner().invoke(cli, args, env=cli_env(url))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{name} raised {result.exception!r}")
        outcomes.append(Outcome(name, result.exit_code, result.stdout, result.stderr))
    return outcomes


def assert_refused_cleanly(outcome: Outcome, call: str, *problems: str) -> str:
    """Exit 1, no traceback, one error line naming `call` and each of `problems`."""
    where = f"{outcome.command}: {outcome.stderr!r}"
    assert outcome.exit_code == 1, where
    assert "Traceback" not in outcome.stderr + outcome.stdout, where
    assert "internal error" not in outcome.stderr, where
    lines = outcome.error_lines()
    assert len(lines) == 1, where
    line = lines[0]
    assert line.startswith(f"error: {call}: "), where
    for problem in problems:
        assert problem in line, where
    assert TOKEN not in outcome.stderr + outcome.stdout
    return line


def mutated(records: list[dict[str, Any]], change: Callable[[list[dict[str, Any]]], Any]) -> Any:
    data = copy.deepcopy(records)
    result = change(data)
    return data if result is None else result


def _drop(key: str) -> Callable[[list[dict[str, Any]]], None]:
    def drop(items: list[dict[str, Any]]) -> None:
        del items[0][key]

    return drop


def _set(key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    return lambda items: items[0].__setitem__(key, value)


def _set_model_status(items: list[dict[str, Any]]) -> None:
    items[0]["models"][0]["status"] = "Training"


@dataclass(frozen=True)
class Scenario:
    """One broken answer: which call gets it, what it is, and what the message must say."""

    name: str
    method: str
    path: str  # regex over the request path
    answer: Callable[[Account], Answer]
    call: str  # the call the message must name (regex groups filled from the account)
    problems: tuple[str, ...]


SCENARIOS = [
    Scenario(
        "malformed JSON",
        "GET",
        PROJECTS,
        lambda a: Answer(200, b'[{"id": 1, "project_name": "lo'),
        "GET /tailored-gen/projects",
        ("malformed response: not JSON (JSONDecodeError",),
    ),
    Scenario(
        "HTML page with status 200",
        "GET",
        PROJECTS,
        lambda a: html(200, HTML_LOGIN),
        "GET /tailored-gen/projects",
        ("malformed response: an HTML page instead of JSON (200)",),
    ),
    Scenario(
        "an object where an array is expected",
        "GET",
        PROJECTS,
        lambda a: Answer(200, {"projects": a.projects}),
        "GET /tailored-gen/projects",
        ("expected a JSON array of projects, got object",),
    ),
    Scenario(
        "an array where an object is expected",
        "GET",
        PROJECTS,
        lambda a: Answer(200, [list(a.projects[0].items())]),
        "GET /tailored-gen/projects",
        ("expected a JSON object for project #0, got array",),
    ),
    Scenario(
        "a project without its id",
        "GET",
        PROJECTS,
        lambda a: Answer(200, mutated(a.projects, _drop("id"))),
        "GET /tailored-gen/projects",
        ("project #0 has no 'id'",),
    ),
    Scenario(
        "an id as a string",
        "GET",
        PROJECTS,
        lambda a: Answer(200, mutated(a.projects, _set("id", str(a.project_id)))),
        "GET /tailored-gen/projects",
        ("project #0 field 'id' should be an integer, got string",),
    ),
    Scenario(
        "a project_name as a number",
        "GET",
        PROJECTS,
        lambda a: Answer(200, mutated(a.projects, _set("project_name", 12))),
        "GET /tailored-gen/projects",
        ("project #0 field 'project_name' should be a string, got number",),
    ),
    Scenario(
        "an unknown dataset status",
        "GET",
        DATASETS,
        lambda a: Answer(200, mutated(a.datasets, _set("status", "archived"))),
        "GET /tailored-gen/projects/{project}/datasets",
        ("dataset #0 field 'status' has unknown value 'archived'",),
    ),
    Scenario(
        "an unknown model status",
        "GET",
        DATASETS,
        lambda a: Answer(200, mutated(a.datasets, _set_model_status)),
        "GET /tailored-gen/projects/{project}/datasets",
        ("dataset #0 model #0 field 'status' has unknown value 'Training'",),
    ),
    Scenario(
        "a dataset without its name",
        "GET",
        DATASETS,
        lambda a: Answer(200, mutated(a.datasets, _drop("name"))),
        "GET /tailored-gen/projects/{project}/datasets",
        ("dataset #0 has no 'name'",),
    ),
    Scenario(
        "images as null",
        "GET",
        IMAGES,
        lambda a: Answer(200, None),
        "GET /tailored-gen/datasets/{dataset}/images",
        ("expected a JSON array of images, got null",),
    ),
    Scenario(
        "an image of another dataset",
        "GET",
        IMAGES,
        lambda a: Answer(200, [{"id": 9, "dataset_id": a.dataset_id + 100, "image_name": "x.png"}]),
        "GET /tailored-gen/datasets/{dataset}/images",
        ("image #0 belongs to dataset",),
    ),
    Scenario(
        "JSON nested too deeply to decode",
        "GET",
        PROJECTS,
        lambda a: Answer(200, b"[" * 100_000 + b"]" * 100_000),
        "GET /tailored-gen/projects",
        ("malformed response: not JSON (RecursionError: '[[[[",),
    ),
    Scenario(
        "an integer of 5000 digits",
        "GET",
        DATASETS,
        lambda a: Answer(200, b'[{"id": ' + b"7" * 5000 + b"}]"),
        "GET /tailored-gen/projects/{project}/datasets",
        ('malformed response: not JSON (ValueError: \'[{"id": 7777',),
    ),
    Scenario(
        "an error answer nested too deeply to decode",
        "GET",
        PROJECTS,
        lambda a: Answer(400, b'{"message": ' * 50_000),
        "GET /tailored-gen/projects",
        ('400 Bad Request: {"message": {"message":',),
    ),
]


def _call(scenario_call: str, account: Account) -> str:
    return scenario_call.format(project=account.project_id, dataset=account.dataset_id)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_misread_answer_stops_plan_and_apply_before_any_write(
    scenario: Scenario, account: Account, hostile: HostileServer
) -> None:
    hostile.script(Rule(scenario.method, scenario.path, scenario.answer(account)))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(outcome, _call(scenario.call, account), *scenario.problems)
    assert hostile.hostile_answers, "the broken answer was never asked for"
    assert hostile.writes() == []


def test_an_html_502_is_retried_then_reported_with_the_page_title(
    account: Account, hostile: HostileServer
) -> None:
    hostile.script(Rule("GET", PROJECTS, html(502, HTML_502)))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(
            outcome,
            "GET /tailored-gen/projects",
            "502 Bad Gateway: HTML page '502 Bad Gateway'",
            "(gave up after 6 attempts)",
        )
    assert hostile.routes().count("GET /v1/tailored-gen/projects") == 12  # 6 per command
    assert hostile.writes() == []


def test_a_truncated_answer_is_retried_then_reported_as_no_response(
    account: Account, hostile: HostileServer
) -> None:
    real_datasets = httpx.get(
        f"{account.emulator.url}/tailored-gen/projects/{account.project_id}/datasets",
        params={"include_models": "true"},
        headers={"api_token": TOKEN},
    ).content
    assert len(real_datasets) > 100
    hostile.script(Rule("GET", DATASETS, Answer(200, real_datasets, cut_after=60)))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(
            outcome,
            f"GET /tailored-gen/projects/{account.project_id}/datasets",
            "no response (RemoteProtocolError: peer closed connection without sending complete",
            "(gave up after 6 attempts)",
        )
    assert len(hostile.hostile_answers) == 12  # 6 attempts per command
    assert hostile.writes() == []


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_host_is_not_followed_and_the_token_never_goes_there(
    status: int, account: Account, hostile: HostileServer
) -> None:
    with HostileServer(host="127.0.0.2") as elsewhere:
        target = f"{elsewhere.url}/tailored-gen/projects"
        hostile.script(Rule("GET", PROJECTS, Answer(status, b"", headers=(("location", target),))))
        for outcome in run_plan_and_apply(hostile.url):
            assert_refused_cleanly(
                outcome,
                "GET /tailored-gen/projects",
                f"{status} ",
                "redirected to host '127.0.0.2', which the client never follows",
            )
        assert elsewhere.requests == []
    assert hostile.routes() == ["GET /v1/tailored-gen/projects"] * 2
    assert all(r.headers.get("api_token") == TOKEN for r in hostile.requests)
    assert hostile.writes() == []


def test_a_redirect_to_the_same_host_is_not_followed_either(
    account: Account, hostile: HostileServer
) -> None:
    same_host = f"{hostile.url}/tailored-gen/projects/"
    hostile.script(Rule("GET", DATASETS, Answer(307, b"moved", headers=(("location", same_host),))))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(
            outcome,
            f"GET /tailored-gen/projects/{account.project_id}/datasets",
            "307 Temporary Redirect: redirected to host '127.0.0.1'",
        )
    assert "GET /v1/tailored-gen/projects/" not in hostile.routes()
    assert hostile.writes() == []


def test_a_dataset_listed_under_the_wrong_project_is_refused_not_pruned(
    account: Account, hostile: HostileServer
) -> None:
    """A project's datasets list that carries another project's dataset: with --prune, a
    misread would delete a dataset in a project no manifest declares."""
    other = {**account.projects[0], "id": 99, "project_name": "not-ours"}
    stray = {"id": 500, "project_id": 99, "name": "theirs-v1", "status": "draft", "models": []}
    hostile.script(
        Rule("GET", PROJECTS, Answer(200, [*account.projects, other])),
        Rule("GET", DATASETS, Answer(200, [*account.datasets, stray])),
    )
    outcomes = []
    for args in (
        ["plan", "manifests", "--prune"],
        ["apply", "manifests", "--auto-approve", "--prune"],
    ):
        result = CliRunner().invoke(cli, args, env=cli_env(hostile.url))
        outcomes.append(Outcome(args[0], result.exit_code, result.stdout, result.stderr))
    for outcome in outcomes:
        assert_refused_cleanly(
            outcome,
            f"GET /tailored-gen/projects/{account.project_id}/datasets",
            f"dataset #1 belongs to project 99, not to project {account.project_id}",
        )
    assert hostile.writes() == []


def test_apply_of_a_saved_plan_stops_on_a_misread_answer(
    account: Account, hostile: HostileServer
) -> None:
    """`apply --plan FILE` re-reads the account to check the plan is not stale: a bad answer
    there stops it too, before any of the saved steps runs."""
    hostile.script()
    saved = CliRunner().invoke(
        cli, ["plan", "manifests", "--out", "saved.plan.json"], env=cli_env(hostile.url)
    )
    assert saved.exit_code == 0, saved.output
    hostile.script(Rule("GET", IMAGES, Answer(200, {"images": []})))
    result = CliRunner().invoke(
        cli, ["apply", "--plan", "saved.plan.json", "--auto-approve"], env=cli_env(hostile.url)
    )
    outcome = Outcome("apply --plan", result.exit_code, result.stdout, result.stderr)
    assert_refused_cleanly(
        outcome,
        f"GET /tailored-gen/datasets/{account.dataset_id}/images",
        "expected a JSON array of images, got object",
    )
    assert hostile.hostile_answers
    assert hostile.writes() == []
