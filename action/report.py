#!/usr/bin/env python3
"""What the GitHub Action (and the GitLab template) write for people: the PR/MR comment, the job
summary, and the digest of the manifests a plan was made from.

Standard library only: it runs before, and independently of, the installed tool. The comment is
size-safe: GitHub refuses a comment over 65,536 characters (GitLab a note over 1,000,000), so a
long plan is cut at a line boundary, open code fences and <details> are closed, and the comment
says it was cut and where the whole plan is. One marker line per kind of comment lets the poster
find and update its own comment instead of adding one per run.

    report.py digest PATH...                         sha256 over the files under PATHs
    report.py plan-comment --exit-code N --plan-md F --stderr F [--limit N] [--where TEXT]
    report.py apply-comment --exit-code N --log F --mode reviewed|replanned --reason TEXT ...
    report.py drift-issue --exit-code N --plan-md F --stderr F [--limit N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

GITHUB_COMMENT_LIMIT = 65_536
PLAN_MARKER = "<!-- reconciler-plan -->"
APPLY_MARKER = "<!-- reconciler-apply -->"
DRIFT_MARKER = "<!-- reconciler-drift -->"
_TAIL_LINES = 40


def manifests_digest(paths: list[str]) -> str:
    """sha256 over (relative path, content digest) of every non-hidden file under `paths`."""
    total = hashlib.sha256()
    files: list[Path] = []
    for given in paths:
        top = Path(given)
        if top.is_file():
            files.append(top)
            continue
        for folder, subfolders, names in os.walk(top):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            files.extend(Path(folder, n) for n in sorted(names) if not n.startswith("."))
    for file in sorted(set(files)):
        content = hashlib.sha256(file.read_bytes()).hexdigest()
        total.update(f"{file.as_posix()}\0{content}\n".encode())
    return total.hexdigest()


def fit(body: str, limit: int, where: str) -> str:
    """`body` cut to at most `limit` characters at a line boundary, saying so when cut."""
    if len(body) <= limit:
        return body
    note_room = 300 + len(where)
    cut = body[: max(limit - note_room, 0)]
    if "\n" in cut:
        cut = cut[: cut.rindex("\n")]
    closing = ""
    if cut.count("```") % 2:
        closing += "\n```"
    opened = cut.count("<details>") - cut.count("</details>")
    closing += "\n</details>" * max(opened, 0)
    note = (
        f"\n\n> **Cut short to fit a comment**: {len(cut):,} of {len(body):,} characters "
        f"shown. {where}\n"
    )
    return (cut + closing + note)[:limit]


def _tail(path: str | None, lines: int = _TAIL_LINES) -> str:
    if not path or not Path(path).exists():
        return ""
    text = Path(path).read_text(encoding="utf-8", errors="replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])


def _read(path: str | None) -> str:
    if not path or not Path(path).exists():
        return ""
    return Path(path).read_text(encoding="utf-8", errors="replace").strip()


def _code_block(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}text\n{text}\n{fence}"


def plan_comment(exit_code: int, plan_md: str, stderr: str, limit: int, where: str) -> str:
    """The PR comment for a plan: its markdown, or what went wrong and how to see more."""
    if exit_code in (0, 2):
        status = "changes to apply" if exit_code == 2 else "no changes"
        body = f"{PLAN_MARKER}\n### reconciler plan: {status}\n\n{_read(plan_md)}\n"
        notes = _tail(stderr, 10)
        if notes:
            body += f"\n<details><summary>notes</summary>\n\n{_code_block(notes)}\n</details>\n"
    else:
        body = (
            f"{PLAN_MARKER}\n### reconciler plan failed (exit code {exit_code})\n\n"
            f"Nothing was applied. The last lines the plan printed:\n\n"
            f"{_code_block(_tail(stderr) or '(nothing)')}\n"
        )
    return fit(body, limit, where)


def apply_comment(exit_code: int, log: str, mode: str, reason: str, limit: int, where: str) -> str:
    """The job summary and PR comment for an apply on merge: which plan ran, and its result."""
    result = "succeeded" if exit_code == 0 else f"failed (exit code {exit_code})"
    if mode == "reviewed":
        which = "Applied **the plan reviewed in the pull request** (the saved plan file)."
    else:
        which = (
            f"**Planned again** and applied the new plan: {reason}. "
            "The plan applied is printed below."
        )
    body = (
        f"{APPLY_MARKER}\n### reconciler apply {result}\n\n{which}\n\n"
        f"{_code_block(_read(log) or '(nothing)')}\n"
    )
    return fit(body, limit, where)


def drift_issue(exit_code: int, plan_md: str, stderr: str, limit: int, where: str) -> str:
    """The body of the drift issue: what changed in the account since the manifests were applied."""
    if exit_code == 2:
        head = (
            "The account no longer matches the manifests (drift, or changes merged but never "
            "applied). Review the plan below; merging a fix or re-running apply repairs it."
        )
        return fit(f"{DRIFT_MARKER}\n{head}\n\n{_read(plan_md)}\n", limit, where)
    if exit_code == 0:
        return f"{DRIFT_MARKER}\nNo drift: the account matches the manifests.\n"
    return fit(
        f"{DRIFT_MARKER}\nThe drift check failed (exit code {exit_code}):\n\n"
        f"{_code_block(_tail(stderr) or '(nothing)')}\n",
        limit,
        where,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="report.py")
    sub = parser.add_subparsers(dest="what", required=True)
    digest = sub.add_parser("digest")
    digest.add_argument("paths", nargs="+")
    for name in ("plan-comment", "apply-comment", "drift-issue"):
        one = sub.add_parser(name)
        one.add_argument("--exit-code", type=int, required=True)
        one.add_argument("--limit", type=int, default=GITHUB_COMMENT_LIMIT)
        one.add_argument("--where", default="The whole plan is in the job's artifacts.")
        if name == "apply-comment":
            one.add_argument("--log", required=True)
            one.add_argument("--mode", choices=["reviewed", "replanned"], required=True)
            one.add_argument("--reason", default="")
        else:
            one.add_argument("--plan-md", required=True)
            one.add_argument("--stderr", required=True)
    args = parser.parse_args(argv)
    if args.what == "digest":
        text = manifests_digest(args.paths) + "\n"
    elif args.what == "plan-comment":
        text = plan_comment(args.exit_code, args.plan_md, args.stderr, args.limit, args.where)
    elif args.what == "apply-comment":
        text = apply_comment(
            args.exit_code, args.log, args.mode, args.reason, args.limit, args.where
        )
    else:
        text = drift_issue(args.exit_code, args.plan_md, args.stderr, args.limit, args.where)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
