"""Answers that contradict themselves or each other stop the run; unknown enum values do only
where the manifests declare the resource.

Two records under one id (two projects, every image of a dataset), or an image list that
disagrees with the dataset's `images_count`, would make apply write into the wrong project,
caption the wrong image or retrain every model: the run stops with one line naming the call,
before any write. A value the client does not know (a new `ip_type`, a new status) on a resource
no manifest declares cannot mislead the plan: that record is skipped with one warning.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from click.testing import CliRunner
from hostile_server import Answer, HostileServer, Rule
from test_hostile_answers import (
    DATASETS,
    IMAGES,
    PROJECTS,
    TOKEN,
    Account,
    account,
    assert_refused_cleanly,
    cli_env,
    hostile,
    run_plan_and_apply,
)

from reconciler.cli import cli

__all__ = ["account", "hostile"]  # fixtures


def _images(account: Account) -> list[dict[str, Any]]:
    import httpx

    answer = httpx.get(
        f"{account.emulator.url}/tailored-gen/datasets/{account.dataset_id}/images",
        headers={"api_token": TOKEN},
    )
    return answer.json()  # type: ignore[no-any-return]


def test_two_projects_under_one_id_stop_the_run(account: Account, hostile: HostileServer) -> None:
    twin = {**account.projects[0], "project_name": "someone-else"}
    hostile.script(Rule("GET", PROJECTS, Answer(200, [*account.projects, twin])))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(
            outcome,
            "GET /tailored-gen/projects",
            f"2 projects have id {account.project_id} (#0 'lora', #1 'someone-else')",
        )
    assert hostile.writes() == []


def test_every_image_under_one_id_stops_the_run(account: Account, hostile: HostileServer) -> None:
    images = _images(account)
    assert len(images) == 2
    same = [{**image, "id": images[0]["id"]} for image in images]
    hostile.script(Rule("GET", IMAGES, Answer(200, same)))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(
            outcome,
            f"GET /tailored-gen/datasets/{account.dataset_id}/images",
            f"2 images have id {images[0]['id']}",
        )
    assert hostile.writes() == []


def test_an_image_list_contradicting_images_count_stops_the_run(
    account: Account, hostile: HostileServer
) -> None:
    hostile.script(Rule("GET", IMAGES, Answer(200, [])))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(
            outcome,
            f"GET /tailored-gen/datasets/{account.dataset_id}/images",
            "lists 0 images, but",
            f"GET /tailored-gen/projects/{account.project_id}/datasets",
            "'lora-v1' has 2 (images_count)",
            "the answers contradict each other",
        )
    assert hostile.writes() == []


def _plan(url: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["plan", "manifests"], env=cli_env(url))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_an_unknown_ip_type_on_an_undeclared_project_is_skipped_with_one_warning(
    account: Account, hostile: HostileServer
) -> None:
    stranger = {**account.projects[0], "id": 99, "project_name": "not-ours"}
    stranger["ip_type"] = "brand_new_type"
    hostile.script(Rule("GET", PROJECTS, Answer(200, [*account.projects, stranger])))

    code, stdout, stderr = _plan(hostile.url)

    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: GET /tailored-gen/projects: skipped project 'not-ours' (id 99), which no "
        "manifest declares: project #1 field 'ip_type' has unknown value 'brand_new_type' "
        "(expected one of character_variants, defined_character, icons, multi_object_set, "
        "object_variants, other, stylized_scene)"
    ]
    assert "lora-03.png" in stdout  # the plan itself is made as usual


def test_an_unknown_ip_type_on_a_declared_project_stops_the_run(
    account: Account, hostile: HostileServer
) -> None:
    changed = copy.deepcopy(account.projects)
    changed[0]["ip_type"] = "brand_new_type"
    hostile.script(Rule("GET", PROJECTS, Answer(200, changed)))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(
            outcome,
            "GET /tailored-gen/projects",
            "project #0 field 'ip_type' has unknown value 'brand_new_type'",
        )
    assert hostile.writes() == []


def test_an_unknown_status_on_an_undeclared_dataset_is_skipped_not_pruned(
    account: Account, hostile: HostileServer
) -> None:
    stray = {
        "id": 500,
        "project_id": account.project_id,
        "name": "console-v1",
        "status": "draft",
        "models": [{"id": 900, "name": "m", "status": "syncing", "training_version": "light"}],
    }
    hostile.script(Rule("GET", DATASETS, Answer(200, [*account.datasets, stray])))

    result = CliRunner().invoke(cli, ["plan", "manifests", "--prune"], env=cli_env(hostile.url))

    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"warning: GET /tailored-gen/projects/{account.project_id}/datasets: skipped dataset "
        "'console-v1' (id 500), which no manifest declares: dataset #1 "
    )
    assert "unknown value 'syncing'" in warnings[0]
    assert "console-v1" not in result.stdout


def _with_model(account: Account, model: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's dataset list with `model` added to the declared dataset `lora-v1`."""
    datasets = copy.deepcopy(account.datasets)
    datasets[0]["models"].append({**datasets[0]["models"][0], **model})
    return datasets


@pytest.mark.parametrize("embedded", [True, False], ids=["in-dataset-list", "in-model-list"])
def test_an_unknown_status_on_an_undeclared_model_of_a_declared_dataset_is_skipped(
    account: Account, hostile: HostileServer, embedded: bool
) -> None:
    stray = {"id": 901, "name": "console-model", "status": "syncing"}
    if embedded:
        hostile.script(Rule("GET", DATASETS, Answer(200, _with_model(account, stray))))
        path = f"/tailored-gen/projects/{account.project_id}/datasets"
    else:  # a dataset list without models: the planner reads the project's model list
        without = [{k: v for k, v in d.items() if k != "models"} for d in account.datasets]
        (listed,) = _with_model(account, stray)[0]["models"][-1:]
        models = [*account.datasets[0]["models"], listed]
        hostile.script(
            Rule("GET", DATASETS, Answer(200, without)),
            Rule("GET", r"/v1/tailored-gen/projects/\d+/models", Answer(200, models)),
        )
        path = f"/tailored-gen/projects/{account.project_id}/models"

    code, stdout, stderr = _plan(hostile.url)

    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, stderr
    assert warnings[0].startswith(
        f"warning: GET {path}: skipped model 'console-model' (id 901), which no manifest declares: "
    )
    assert "unknown value 'syncing'" in warnings[0]
    assert "lora-03.png" in stdout and "lora-max" in stdout  # the plan itself as usual


def test_an_unknown_status_on_a_declared_model_stops_the_run(
    account: Account, hostile: HostileServer
) -> None:
    datasets = copy.deepcopy(account.datasets)
    (model,) = datasets[0]["models"]
    assert model["name"] == "lora-light"
    model["status"] = "syncing"
    hostile.script(Rule("GET", DATASETS, Answer(200, datasets)))
    for outcome in run_plan_and_apply(hostile.url):
        assert_refused_cleanly(
            outcome,
            f"GET /tailored-gen/projects/{account.project_id}/datasets",
            "field 'status' has unknown value 'syncing'",
        )
    assert hostile.writes() == []
