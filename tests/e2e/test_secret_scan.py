"""Issue 5's secret scan: a full run with a recognisable token, every output and file searched.

Every command runs as a real process (the secret registry lives in the process, so one run must
not hide another's leak) with HOME, XDG folders and TMPDIR inside the test's folder, through a
recording proxy (`HostileServer`) in front of an emulator that accepts only that token. The runs:
validate, plan in text/JSON/markdown and to files, apply, apply --plan FILE, plan again, an apply
that gives up (every upload answered 500), wrong tokens, and `--debug` variants, with the
token from BRIA_API_TOKEN and from --token-file. Afterwards the token, and its base64 and
URL-safe base64 forms at every byte alignment, must appear in no stdout, no stderr and no file
under the working folder, HOME, the XDG folders or TMPDIR. The proxy's records prove the other
half: the token was sent, only in the `api_token` header, on every request. Of the outer
environment only the suite's pause knob (RECONCILER_TEST_PAUSE_SCALE) reaches the runs, so the
apply that gives up does not sleep through production backoffs.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_server import Answer, HostileServer, Rule
from manifest_builders import png_bytes, standard_tree

from reconciler.cli import cli
from reconciler.emulator.server import EmulatorServer
from reconciler.pauses import PAUSE_SCALE_ENV

TOKEN = "tok-SECRET-4d2c9f0a1b"
WRONG_TOKEN = "tok-WRONG-99e1a7c3d5"
UPLOAD = r"/v1/tailored-gen/datasets/\d+/images"


def encoded_forms(secret: str) -> list[bytes]:
    """The secret, and its base64 / URL-safe base64 forms at each of the 3 byte alignments
    (the middle of the encoding, without the characters that depend on neighbouring bytes)."""
    raw = secret.encode()
    forms = [raw]
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for pad in range(3):
            encoded = encode(b"\0" * pad + raw)
            skip = (pad * 8 + 5) // 6  # characters that still mix in the padding bytes
            forms.append(encoded[skip : (len(pad * b"\0" + raw) * 8) // 6])
    return forms


@dataclass
class Scan:
    """The working folder, the sandboxed environment and everything the runs printed."""

    root: Path
    work: Path
    proxy: HostileServer
    emulator: EmulatorServer
    outputs: list[str] = field(default_factory=list)

    def env(self, token: str | None = TOKEN, **extra: str) -> dict[str, str]:
        sandbox = self.root / "sandbox"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("BRIA_", "RECONCILER_")) or key == PAUSE_SCALE_ENV
        }
        env.update(
            HOME=str(sandbox / "home"),
            XDG_CACHE_HOME=str(sandbox / "cache"),
            XDG_DATA_HOME=str(sandbox / "data"),
            XDG_CONFIG_HOME=str(sandbox / "config"),
            TMPDIR=str(sandbox / "tmp"),
            BRIA_API_URL=self.proxy.url,
            NO_COLOR="1",
        )
        if token is not None:
            env["BRIA_API_TOKEN"] = token
        env.update(extra)
        return env

    def run(self, *args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=self.work,
            env=self.env(token),
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.outputs += [done.stdout, done.stderr]
        return done


@pytest.fixture
def scan(tmp_path: Path) -> Iterator[Scan]:
    work = tmp_path / "work"
    for folder in ("work", "sandbox/home", "sandbox/cache", "sandbox/data", "sandbox/tmp"):
        (tmp_path / folder).mkdir(parents=True)
    # the emulator's own files are outside the scanned folders: it is Bria, it knows the token
    with EmulatorServer(
        tmp_path / "bria", token=TOKEN, training_seconds=600, captions_seconds=0.05
    ) as emulator:
        with HostileServer(emulator.url) as proxy:
            yield Scan(tmp_path, work, proxy, emulator)


def test_the_token_is_sent_only_in_its_header_and_appears_in_no_output_and_no_file(
    scan: Scan,
) -> None:
    tree = standard_tree(scan.work, images=2)
    tree.write()
    token_file = scan.root / "sandbox" / "bria-token"
    token_file.write_text(TOKEN + "\n")
    wrong_file = scan.root / "sandbox" / "wrong-token"
    wrong_file.write_text(WRONG_TOKEN + "\n")
    from_file = ("--token-file", str(token_file))

    assert scan.run("validate", "manifests").returncode == 0
    assert scan.run("plan", "manifests").returncode == 0
    assert scan.run("plan", "manifests", "--format", "json", *from_file, token=None).returncode == 0
    assert scan.run("plan", "manifests", "--format", "markdown").returncode == 0
    debug_plan = scan.run("--debug", "plan", "manifests", "--out", "first.plan.json")
    assert debug_plan.returncode == 0
    assert "debug: GET /tailored-gen/projects -> 200 OK" in debug_plan.stderr
    assert scan.run("apply", "--plan", "first.plan.json", "--auto-approve").returncode == 0
    assert scan.run("plan", "manifests", "--detailed-exitcode").returncode == 0

    # a change, applied from the token file with --debug
    tree.images[("lora", "lora-v1")]["lora-03.png"] = 3
    tree.write()
    plan_md = scan.run("plan", "manifests", "--format", "markdown", "--out", "second.plan.json")
    assert plan_md.returncode == 0
    applied = scan.run("--debug", "apply", "manifests", "--auto-approve", *from_file, token=None)
    assert applied.returncode == 0, applied.stderr
    assert "debug: POST /tailored-gen/datasets" in applied.stderr

    # an apply that gives up: every upload fails with a 500 (the proxy answers for Bria)
    (scan.work / "manifests/images/lora/lora-v1/lora-04.png").write_bytes(png_bytes(4))
    tree.images[("lora", "lora-v1")]["lora-04.png"] = 4
    scan.proxy.script(Rule("POST", UPLOAD, Answer(500, {"message": "Internal server error"})))
    failed = scan.run("--debug", "apply", "manifests", "--auto-approve")
    assert failed.returncode == 1
    assert "POST /tailored-gen/datasets/" in failed.stderr
    assert "500 Internal Server Error: Internal server error" in failed.stderr
    assert "gave up after 6 attempts" in failed.stderr
    scan.proxy.script()

    # wrong tokens, from the environment and from a file, with and without --debug
    # (the hint names where the token came from)
    from_file = f"(check the token in --token-file '{wrong_file}')"
    for args, token, hint in (
        (("plan", "manifests"), WRONG_TOKEN, "(check BRIA_API_TOKEN)"),
        (
            ("--debug", "apply", "manifests", "--auto-approve"),
            WRONG_TOKEN,
            "(check BRIA_API_TOKEN)",
        ),
        (("plan", "manifests", "--token-file", str(wrong_file)), None, from_file),
    ):
        refused = scan.run(*args, token=token)
        assert refused.returncode == 1
        assert ("Traceback" in refused.stderr) == ("--debug" in args)
        errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
        assert errors == [
            f"error: GET /tailored-gen/projects: 401 Unauthorized: Unauthorized: invalid "
            f"api_token {hint}"
        ]

    # the token went out, only in its header, and only the right one was accepted
    received = scan.proxy.history
    assert len(received) > 40
    sent = {r.headers.get("api_token") for r in received}
    assert sent == {TOKEN, WRONG_TOKEN}
    for request in received:
        secret = request.headers["api_token"].encode()
        assert secret not in request.path.encode() + request.body
        others = [v for k, v in request.headers.items() if k != "api_token"]
        assert all(request.headers["api_token"] not in value for value in others)
    accepted = [r for r in received if r.headers["api_token"] == TOKEN]
    assert any(r.method == "POST" for r in accepted)

    # nothing printed and nothing written holds either token in any form
    assert (scan.work / ".reconciler").is_dir()
    assert (scan.work / "first.plan.json").is_file() and (scan.work / "second.plan.json").is_file()
    forms = encoded_forms(TOKEN) + encoded_forms(WRONG_TOKEN)
    for text in scan.outputs:
        for form in forms:
            assert form.decode() not in text
    scanned = [
        path
        for folder in (scan.work, scan.root / "sandbox")
        for path in folder.rglob("*")
        if path.is_file() and path not in (token_file, wrong_file)
    ]
    assert any(".reconciler" in path.parts for path in scanned)
    leaks = [(str(path), form) for path in scanned for form in forms if form in path.read_bytes()]
    assert leaks == []


def test_the_encoded_forms_find_the_token_inside_a_larger_base64_blob() -> None:
    """The scan's own check can fail: the token base64-encoded at any offset is found."""
    for prefix in (b"", b"x", b"xy", b"header: "):
        blob = base64.b64encode(prefix + TOKEN.encode() + b"-tail")
        assert any(form in blob for form in encoded_forms(TOKEN)), prefix
    assert not any(form in base64.b64encode(b"tok-OTHER-000") for form in encoded_forms(TOKEN))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://bria.example.com/v1",
            "error: API URL 'http://bria.example.com/v1' uses plain http to 'bria.example.com', "
            "which would send the API token in clear; use https (plain http is allowed only to "
            "127.0.0.1, ::1 and localhost)",
        ),
        (
            "https://me:hunter2-pw@bria.example.com/v1",
            "error: API URL 'https://bria.example.com/v1' carries credentials; remove them (the "
            "token goes in BRIA_API_TOKEN)",
        ),
        (
            "ftp://bria.example.com/v1",
            "error: API URL 'ftp://bria.example.com/v1' uses 'ftp'; use https",
        ),
    ],
)
def test_an_api_url_that_would_expose_the_token_is_refused_before_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    standard_tree(tmp_path, images=1).write()
    env = {"BRIA_API_URL": url, "BRIA_API_TOKEN": TOKEN, "NO_COLOR": "1"}
    result = CliRunner().invoke(cli, ["plan", "manifests"], env=env)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [message]
    assert TOKEN not in result.output and "hunter2" not in result.output
