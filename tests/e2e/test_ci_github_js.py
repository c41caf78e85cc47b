"""action/github.js, the Action's GitHub API side, run by node with an in-memory stand-in for the
Octokit that actions/github-script passes it: one comment updated in place, the reviewed plan's
artifact found by the merged PR's head commit, the drift issue opened, updated and closed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")

HARNESS = r"""
const actions = require(process.argv[2]);
const state = JSON.parse(process.argv[3]);
const calls = [];
const outputs = {};
const record = (name, result) => async (args) => {
  calls.push([name, args]);
  return { data: result(args) };
};
const github = {
  paginate: async (fn, args) => (await fn(args)).data,
  rest: {
    issues: {
      listComments: record('listComments', () => state.comments || []),
      createComment: record('createComment', () => ({})),
      updateComment: record('updateComment', () => ({})),
      listForRepo: record('listForRepo', () => state.issues || []),
      create: record('create', () => ({})),
      update: record('update', () => ({})),
    },
    repos: { listPullRequestsAssociatedWithCommit: record('pulls', () => state.pulls || []) },
    actions: {
      listArtifactsForRepo: record('artifacts', () => ({ artifacts: state.artifacts || [] })),
    },
  },
};
const context = { repo: { owner: 'o', repo: 'r' }, sha: 'merge-sha', issue: { number: 7 } };
const core = { setOutput: (k, v) => { outputs[k] = v; }, info: () => {} };
(async () => {
  await actions[state.fn]({ github, context, core }, state.args);
  console.log(JSON.stringify({ calls: calls.map(([n, a]) => [n, a]), outputs }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def _run(tmp_path: Path, fn: str, args: dict[str, Any], **state: Any) -> dict[str, Any]:
    assert NODE
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    payload = json.dumps({"fn": fn, "args": args, **state})
    done = subprocess.run(
        [NODE, str(harness), str(ROOT / "action" / "github.js"), payload],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def _writes(result: dict[str, Any]) -> list[str]:
    return [name for name, _ in result["calls"] if not name.startswith(("list", "pulls", "art"))]


def test_the_plan_comment_is_updated_in_place_or_created_once(tmp_path: Path) -> None:
    body = tmp_path / "comment.md"
    body.write_text("<!-- reconciler-plan -->\nnew plan")
    args = {"issueNumber": 7, "marker": "<!-- reconciler-plan -->", "bodyFile": str(body)}
    theirs = {"id": 1, "body": "looks good, but see <!-- reconciler-plan --> above"}
    mine = {"id": 2, "body": "<!-- reconciler-plan -->\nold plan"}

    updated = _run(tmp_path, "upsertComment", args, comments=[theirs, mine])
    assert _writes(updated) == ["updateComment"]
    assert updated["calls"][-1][1]["comment_id"] == 2
    assert updated["calls"][-1][1]["body"] == "<!-- reconciler-plan -->\nnew plan"

    created = _run(tmp_path, "upsertComment", args, comments=[theirs])
    assert _writes(created) == ["createComment"]
    assert created["calls"][-1][1]["issue_number"] == 7


def test_the_reviewed_plan_is_the_newest_artifact_of_the_merged_prs_head(tmp_path: Path) -> None:
    pulls = [
        {"number": 12, "merged_at": "t", "merge_commit_sha": "merge-sha", "head": {"sha": "h2"}}
    ]
    artifacts = [
        {
            "expired": False,
            "created_at": "2026-01-03",
            "workflow_run": {"id": 30, "head_sha": "h1"},
        },
        {
            "expired": False,
            "created_at": "2026-01-02",
            "workflow_run": {"id": 20, "head_sha": "h2"},
        },
        {"expired": True, "created_at": "2026-01-04", "workflow_run": {"id": 40, "head_sha": "h2"}},
        {
            "expired": False,
            "created_at": "2026-01-01",
            "workflow_run": {"id": 10, "head_sha": "h2"},
        },
    ]
    found = _run(
        tmp_path,
        "findReviewedPlan",
        {"artifactPrefix": "reconciler-plan"},
        pulls=pulls,
        artifacts=artifacts,
    )
    assert found["outputs"] == {
        "pr-number": "12",
        "run-id": "20",
        "artifact": "reconciler-plan-pr-12",
    }
    assert ["artifacts", {"owner": "o", "repo": "r", "name": "reconciler-plan-pr-12",
            "per_page": 100}] in found["calls"]  # fmt: skip

    none = _run(tmp_path, "findReviewedPlan", {"artifactPrefix": "reconciler-plan"}, pulls=[])
    assert none["outputs"] == {"pr-number": "", "run-id": ""}


def test_drift_opens_updates_and_closes_one_issue(tmp_path: Path) -> None:
    body = tmp_path / "issue.md"
    body.write_text("<!-- reconciler-drift -->\nplan")
    args = {"marker": "<!-- reconciler-drift -->", "bodyFile": str(body), "title": "drift"}
    existing = {"number": 5, "body": "<!-- reconciler-drift -->\nold"}
    pr = {"number": 6, "body": "<!-- reconciler-drift -->", "pull_request": {}}

    opened = _run(tmp_path, "upsertDriftIssue", {**args, "exitCode": "2"}, issues=[pr])
    assert _writes(opened) == ["create"]
    updated = _run(tmp_path, "upsertDriftIssue", {**args, "exitCode": "2"}, issues=[existing])
    assert _writes(updated) == ["update"] and updated["calls"][-1][1]["issue_number"] == 5
    closed = _run(tmp_path, "upsertDriftIssue", {**args, "exitCode": "0"}, issues=[existing])
    assert _writes(closed) == ["createComment", "update"]
    assert closed["calls"][-1][1]["state"] == "closed"
    quiet = _run(tmp_path, "upsertDriftIssue", {**args, "exitCode": "0"}, issues=[])
    assert _writes(quiet) == []
