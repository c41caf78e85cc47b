#!/usr/bin/env python3
"""The GitLab API side of examples/ci/gitlab-ci.yml (standard library only).

    gitlab.py upsert-note --marker M --body FILE [--mr IID]
        update the one note of this kind (found by its marker) on the merge request, or add it
    gitlab.py upsert-issue --exit-code N --marker M --body FILE --title TEXT
        the drift check: exit 2 (or a failed check) opens or updates the one drift issue, found
        by its marker; exit 0 closes it with a note
    gitlab.py fetch-reviewed-plan --job plan --dest DIR
        for a merge commit on the default branch: the merge request it came from, and the
        artifacts of that merge request's plan job unpacked into DIR; prints the MR IID
        (nothing, and exit 0, when there is none: apply then plans again)

Reads CI_API_V4_URL, CI_PROJECT_ID, CI_COMMIT_SHA, CI_MERGE_REQUEST_IID from GitLab's predefined
variables and the token from GITLAB_NOTE_TOKEN (a project access token with the `api` scope:
CI_JOB_TOKEN cannot write notes). The token is sent only in the PRIVATE-TOKEN header and never
printed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Any


class GitLab:
    def __init__(self, api: str, project: str, token: str) -> None:
        self.base = f"{api.rstrip('/')}/projects/{urllib.parse.quote(project, safe='')}"
        self.token = token

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> bytes:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=body, method=method)
        request.add_header("PRIVATE-TOKEN", self.token)
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())

    def json(self, method: str, path: str, data: dict[str, str] | None = None) -> Any:
        return json.loads(self.request(method, path, data) or b"null")

    def pages(self, path: str) -> list[Any]:
        found: list[Any] = []
        for page in range(1, 50):
            sep = "&" if "?" in path else "?"
            batch = self.json("GET", f"{path}{sep}per_page=100&page={page}")
            found.extend(batch)
            if len(batch) < 100:
                break
        return found


def upsert_note(gitlab: GitLab, mr: str, marker: str, body: str) -> str:
    """Update the merge request's note that starts with `marker`, or create it."""
    notes = gitlab.pages(f"/merge_requests/{mr}/notes?sort=asc")
    mine = next((n for n in notes if str(n.get("body", "")).startswith(marker)), None)
    if mine is not None:
        gitlab.json("PUT", f"/merge_requests/{mr}/notes/{mine['id']}", {"body": body})
        return "updated"
    gitlab.json("POST", f"/merge_requests/{mr}/notes", {"body": body})
    return "created"


def upsert_issue(gitlab: GitLab, exit_code: int, marker: str, body: str, title: str) -> str:
    """Open, update or close the one drift issue; what was done."""
    issues = gitlab.pages("/issues?state=opened")
    mine = next((i for i in issues if str(i.get("description") or "").startswith(marker)), None)
    if exit_code == 0:
        if mine is None:
            return "no drift issue open"
        gitlab.json("POST", f"/issues/{mine['iid']}/notes", {"body": body})
        gitlab.json("PUT", f"/issues/{mine['iid']}", {"state_event": "close"})
        return "closed"
    if mine is not None:
        gitlab.json("PUT", f"/issues/{mine['iid']}", {"description": body})
        return "updated"
    gitlab.json("POST", "/issues", {"title": title, "description": body})
    return "created"


def fetch_reviewed_plan(gitlab: GitLab, sha: str, job: str, dest: str) -> str:
    """The IID of the merged MR of `sha` ('' when none); its plan job's artifacts into `dest`."""
    requests = gitlab.json("GET", f"/repository/commits/{sha}/merge_requests")
    merged = [m for m in requests or [] if m.get("state") == "merged"]
    if not merged:
        return ""
    mr = merged[0]
    for ref in (f"refs/merge-requests/{mr['iid']}/head", str(mr.get("source_branch", ""))):
        quoted = urllib.parse.quote(ref, safe="")
        try:
            archive = gitlab.request("GET", f"/jobs/artifacts/{quoted}/download?job={job}")
        except urllib.error.HTTPError:
            continue
        zipfile.ZipFile(io.BytesIO(archive)).extractall(dest)
        break
    return str(mr["iid"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gitlab.py")
    sub = parser.add_subparsers(dest="what", required=True)
    note = sub.add_parser("upsert-note")
    note.add_argument("--marker", required=True)
    note.add_argument("--body", required=True)
    note.add_argument("--mr", default=os.environ.get("CI_MERGE_REQUEST_IID", ""))
    issue = sub.add_parser("upsert-issue")
    issue.add_argument("--exit-code", type=int, required=True)
    issue.add_argument("--marker", required=True)
    issue.add_argument("--body", required=True)
    issue.add_argument("--title", default="reconciler: the Bria account has drifted")
    fetch = sub.add_parser("fetch-reviewed-plan")
    fetch.add_argument("--job", default="plan")
    fetch.add_argument("--dest", required=True)
    args = parser.parse_args(argv)
    token = os.environ.get("GITLAB_NOTE_TOKEN", "")
    if not token:
        print(
            "gitlab.py: GITLAB_NOTE_TOKEN is not set; skipped (see the template)", file=sys.stderr
        )
        return 0
    gitlab = GitLab(os.environ["CI_API_V4_URL"], os.environ["CI_PROJECT_ID"], token)
    try:
        if args.what == "upsert-note":
            if not args.mr:
                return 0
            with open(args.body, encoding="utf-8") as handle:
                print(f"note {upsert_note(gitlab, args.mr, args.marker, handle.read())}")
        elif args.what == "upsert-issue":
            with open(args.body, encoding="utf-8") as handle:
                body = handle.read()
            print(f"issue {upsert_issue(gitlab, args.exit_code, args.marker, body, args.title)}")
        else:
            print(fetch_reviewed_plan(gitlab, os.environ["CI_COMMIT_SHA"], args.job, args.dest))
    except urllib.error.HTTPError as err:
        print(f"gitlab.py: {err.code} {err.reason} from the GitLab API", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
