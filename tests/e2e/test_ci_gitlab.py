"""action/gitlab.py, the GitLab template's API side, against a small GitLab stand-in on loopback:
one merge-request note updated in place, and the merged MR's plan artifact fetched on merge."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTE_TOKEN = "glpat-test-NOTE-token"


class FakeGitLab:
    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = [{"id": 1, "body": "a reviewer's note"}]
        self.requests: list[tuple[str, str]] = []
        self.issues: list[dict[str, Any]] = [{"iid": 1, "description": "a bug", "state": "opened"}]
        self.artifact = io.BytesIO()
        with zipfile.ZipFile(self.artifact, "w") as archive:
            archive.writestr("reconciler-out/plan.json", '{"format_version": 1}')
            archive.writestr("reconciler-out/manifests.sha256", "abc\n")


@pytest.fixture
def gitlab() -> Iterator[tuple[FakeGitLab, str]]:
    fake = FakeGitLab()

    class Handler(BaseHTTPRequestHandler):
        # headers and body are two writes: without this each answer waits ~40 ms on Nagle
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            fake.requests.append((self.command, self.path))
            if self.headers.get("PRIVATE-TOKEN") != NOTE_TOKEN:
                return self._reply(401, b'{"message": "401 Unauthorized"}')
            path = urllib.parse.urlsplit(self.path).path
            length = int(self.headers.get("content-length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            notes = "/api/v4/projects/42/merge_requests/3/notes"
            if self.command == "GET" and path == notes:
                return self._reply(200, json.dumps(fake.notes).encode())
            if self.command == "POST" and path == notes:
                fake.notes.append({"id": len(fake.notes) + 1, "body": form["body"][0]})
                return self._reply(201, b"{}")
            if self.command == "PUT" and path.startswith(notes + "/"):
                note_id = int(path.rsplit("/", 1)[1])
                next(n for n in fake.notes if n["id"] == note_id)["body"] = form["body"][0]
                return self._reply(200, b"{}")
            issues = "/api/v4/projects/42/issues"
            if self.command == "GET" and path == issues:
                opened = [i for i in fake.issues if i["state"] == "opened"]
                return self._reply(200, json.dumps(opened).encode())
            if self.command == "POST" and path == issues:
                fake.issues.append({"iid": len(fake.issues) + 1, "state": "opened",
                                    "title": form["title"][0],
                                    "description": form["description"][0]})  # fmt: skip
                return self._reply(201, b"{}")
            if path.startswith(issues + "/"):
                iid, *rest = path[len(issues) + 1 :].split("/")
                issue = next(i for i in fake.issues if i["iid"] == int(iid))
                if rest == ["notes"]:
                    issue.setdefault("notes", []).append(form["body"][0])
                elif "state_event" in form:
                    issue["state"] = "closed"
                else:
                    issue["description"] = form["description"][0]
                return self._reply(200, b"{}")
            if path == "/api/v4/projects/42/repository/commits/sha1/merge_requests":
                mr = [{"iid": 3, "state": "merged", "source_branch": "feature"}]
                return self._reply(200, json.dumps(mr).encode())
            if (
                path
                == "/api/v4/projects/42/jobs/artifacts/refs%2Fmerge-requests%2F3%2Fhead/download"
            ):
                return self._reply(200, fake.artifact.getvalue(), "application/zip")
            return self._reply(404, b'{"message": "404 Not Found"}')

        do_GET = do_POST = do_PUT = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()


def _gitlab_py(api: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "3",
        "CI_COMMIT_SHA": "sha1",
        "GITLAB_NOTE_TOKEN": NOTE_TOKEN,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "action" / "gitlab.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_one_note_is_created_then_updated_in_place(
    gitlab: tuple[FakeGitLab, str], tmp_path: Path
) -> None:
    fake, api = gitlab
    body = tmp_path / "comment.md"
    for run in ("first plan", "second plan"):
        body.write_text(f"<!-- reconciler-plan -->\n{run}")
        done = _gitlab_py(api, "upsert-note", "--marker", "<!-- reconciler-plan -->",
                          "--body", str(body), cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert fake.notes == [
        {"id": 1, "body": "a reviewer's note"},
        {"id": 2, "body": "<!-- reconciler-plan -->\nsecond plan"},
    ]
    assert NOTE_TOKEN not in done.stdout + done.stderr


def test_the_merged_mrs_plan_artifact_is_fetched(
    gitlab: tuple[FakeGitLab, str], tmp_path: Path
) -> None:
    _, api = gitlab
    done = _gitlab_py(api, "fetch-reviewed-plan", "--job", "plan", "--dest", "reviewed",
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    assert (tmp_path / "reviewed/reconciler-out/manifests.sha256").read_text() == "abc\n"


def test_the_drift_issue_is_opened_updated_and_closed(
    gitlab: tuple[FakeGitLab, str], tmp_path: Path
) -> None:
    fake, api = gitlab
    body = tmp_path / "issue.md"
    marker = "<!-- reconciler-drift -->"

    def check(exit_code: int, text: str) -> str:
        body.write_text(f"{marker}\n{text}")
        done = _gitlab_py(api, "upsert-issue", "--exit-code", str(exit_code), "--marker", marker,
                          "--body", str(body), "--title", "drift", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert check(2, "drift one") == "issue created"
    assert check(2, "drift two") == "issue updated"
    assert [i["description"] for i in fake.issues] == ["a bug", f"{marker}\ndrift two"]
    assert check(0, "no drift") == "issue closed"
    assert fake.issues[1]["state"] == "closed" and fake.issues[1]["notes"] == [
        f"{marker}\nno drift"
    ]
    assert fake.issues[0]["state"] == "opened"  # someone else's issue is never touched
    assert check(0, "no drift") == "issue no drift issue open"
