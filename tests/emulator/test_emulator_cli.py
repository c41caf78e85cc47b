"""`reconciler emulator` as a real process: the listening line, the token, clean shutdown."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

LINE = re.compile(r"^emulator listening on (http://127\.0\.0\.1:(\d+)/v1)$")
TOKEN = "cli-secret-token"


def _get(url: str, **kwargs: Any) -> httpx.Response:
    # plain http: verify=False spares building a TLS context (~15 ms) on each call
    return httpx.get(url, verify=False, **kwargs)


def _post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, verify=False, **kwargs)


@contextmanager
def emulator_process(
    *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().rstrip("\n")
        match = LINE.match(first)
        if not match:
            process.kill()
            _, err = process.communicate(timeout=10)
            pytest.fail(f"unexpected first line {first!r}; stderr: {err}")
        assert int(match.group(2)) > 0
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serves_with_token_from_flag_and_stops_cleanly(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    with emulator_process("--port", "0", "--data", str(tmp_path), "--token", TOKEN) as (proc, url):
        ok = _post(
            f"{url}/tailored-gen/projects",
            headers={"api_token": TOKEN},
            json={"project_name": "p", "ip_medium": "illustration", "ip_type": "icons"},
        )
        assert ok.status_code == 201
        assert _get(f"{url}/tailored-gen/projects", headers={"api_token": "x"}).status_code == 401
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert TOKEN not in out + err
    assert (tmp_path / "emulator.sqlite3").is_file()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_right_after_the_listening_line_is_not_lost(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    """Before uvicorn had set up its own handlers (a fifth of the time, here) the signal went
    to a no-op handler and the emulator served on forever."""
    with emulator_process("--port", "0", "--data", str(tmp_path)) as (proc, _url):
        proc.send_signal(stop_signal)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err


def test_token_from_environment_and_state_kept_in_data_dir(tmp_path: Path) -> None:
    env = {"BRIA_EMULATOR_TOKEN": TOKEN}
    body = {"project_name": "kept", "ip_medium": "illustration", "ip_type": "icons"}
    with emulator_process("--port", "0", "--data", str(tmp_path), env=env) as (proc, url):
        assert _post(f"{url}/tailored-gen/projects", headers={"api_token": TOKEN},
                          json=body).status_code == 201  # fmt: skip
        assert _get(f"{url}/tailored-gen/projects", headers={"api_token": "no"}).status_code == 401
        proc.terminate()
        proc.communicate(timeout=15)
    with emulator_process("--port", "0", "--data", str(tmp_path), env=env) as (proc, url):
        projects = _get(f"{url}/tailored-gen/projects", headers={"api_token": TOKEN}).json()
        assert [p["project_name"] for p in projects] == ["kept"]
        proc.terminate()
        proc.communicate(timeout=15)


def test_fault_flags_reach_the_server(tmp_path: Path) -> None:
    flags = (
        "--port",
        "0",
        "--data",
        str(tmp_path),
        "--rate-limit-every",
        "1",
        "--retry-after",
        "3",
        "--generation-seconds",
        "7.5",
    )
    with emulator_process(*flags) as (proc, url):
        limited = _get(f"{url}/tailored-gen/projects", headers={"api_token": "t"})
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
        root = url.rsplit("/v1", 1)[0]
        assert _get(f"{root}/_emulator/config").json()["generation_seconds"] == 7.5
        proc.terminate()
        proc.communicate(timeout=15)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "emulator", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_bad_knob_is_one_error_line(tmp_path: Path) -> None:
    result = _run("--port", "0", "--data", str(tmp_path), "--failure-rate", "2", "--token", TOKEN)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: emulator: knob 'failure_rate' must be between 0 and 1, got 2.0"
    ]
    assert result.stdout == ""


def test_port_in_use_is_one_error_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _run("--port", str(port), "--data", str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: cannot listen on '127.0.0.1:{port}': ")
    assert lines[0].endswith("choose another --port (0 = any)")


@pytest.mark.parametrize("problem", ["under a file", "not a database"])
def test_unusable_data_folder_is_one_error_line(tmp_path: Path, problem: str) -> None:
    if problem == "under a file":
        (tmp_path / "file").write_text("x")
        folder = tmp_path / "file" / "state"
        reason = "Not a directory"
    else:
        folder = tmp_path / "state"
        folder.mkdir()
        (folder / "emulator.sqlite3").write_bytes(b"this is not an SQLite database" * 100)
        reason = "file is not a database"
    result = _run("--port", "0", "--data", str(folder))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot keep the emulator's state in '{folder}': {reason}; choose another --data"
    ]
    assert result.stdout == ""


def test_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = _run("--port", "70000", "--data", str(tmp_path))
    assert result.returncode == 2
    assert "'--port': 70000 is not in the range 0<=x<=65535" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_api_profile_current_serves_the_published_openapi(tmp_path: Path) -> None:
    args = ("--port", "0", "--data", str(tmp_path), "--token", TOKEN, "--api-profile", "current")
    with emulator_process(*args) as (proc, url):
        headers = {"api_token": TOKEN}
        project = _post(
            f"{url}/tailored-gen/projects",
            headers=headers,
            json={"project_name": "p", "ip_medium": "illustration", "ip_type": "icons"},
        ).json()
        assert project["training_version"] is None  # the current generation's lock field
        dataset = _post(
            f"{url}/tailored-gen/datasets",
            headers=headers,
            json={"project_id": project["id"], "name": "d"},
        ).json()
        assert (dataset["visual_schema"], dataset["upload_type"]) == (None, "basic")
        assert "caption_prefix" not in dataset
        root = url.removesuffix("/v1")
        status = _get(f"{root}/v2/status/unknown", headers=headers)
        assert (status.status_code, status.json()) == (404, {"message": "Request not found"})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_api_profile_reference_is_the_default_and_has_no_v2(tmp_path: Path) -> None:
    with emulator_process("--port", "0", "--data", str(tmp_path)) as (proc, url):
        root = url.removesuffix("/v1")
        assert _get(f"{root}/v2/status/x", headers={"api_token": "t"}).status_code == 404
        project = _post(
            f"{url}/tailored-gen/projects",
            headers={"api_token": "t"},
            json={"project_name": "p", "ip_medium": "illustration", "ip_type": "icons"},
        ).json()
        assert "training_version" not in project
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_an_unknown_api_profile_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "emulator", "--api-profile", "future"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "'future' is not one of 'reference', 'current'" in result.stderr
