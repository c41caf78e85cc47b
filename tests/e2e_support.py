"""Shared pieces of the apply/e2e tests: an emulator on a real socket, its admin endpoints, and
running the real CLI against it (CliRunner in-process, or `python -m reconciler` as a subprocess).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator.server import EmulatorServer

TOKEN = "tok-e2e-Zq8Jx31TOKEN"


@contextmanager
def running_emulator(data_dir: Path, **knobs: Any) -> Iterator[EmulatorServer]:
    knobs.setdefault("training_seconds", 0.5)
    knobs.setdefault("captions_seconds", 0.05)
    with EmulatorServer(data_dir, token=TOKEN, **knobs) as server:
        yield server


def admin(server: EmulatorServer, method: str, path: str, **kwargs: Any) -> Any:
    # plain http: verify=False spares loading the CA bundle (~20 ms) on each call
    response = httpx.request(
        method, f"{server.root_url}/_emulator/{path}", timeout=30, verify=False, **kwargs
    )
    response.raise_for_status()
    return response.json() if response.content else None


def account(server: EmulatorServer) -> dict[str, Any]:
    """The emulator's full state dump."""
    return admin(server, "GET", "state")  # type: ignore[no-any-return]


def set_knobs(server: EmulatorServer, **knobs: Any) -> None:
    admin(server, "PUT", "config", json=knobs)


def summary(state: dict[str, Any]) -> dict[str, Any]:
    """A compact, comparable view of an account: names, statuses, images and captions."""
    datasets_by_id = {d["id"]: d for d in state["datasets"]}
    projects_by_id = {p["id"]: p for p in state["projects"]}
    out: dict[str, Any] = {}
    for project in state["projects"]:
        out[project["project_name"]] = {"datasets": {}, "models": {}}
    for dataset in state["datasets"]:
        project = projects_by_id[dataset["project_id"]]["project_name"]
        images = sorted(
            (i["image_name"], i["caption"], i["caption_source"])
            for i in state["images"]
            if i["dataset_id"] == dataset["id"]
        )
        out[project]["datasets"][dataset["name"]] = {
            "status": dataset["status"],
            "caption_prefix": dataset["caption_prefix"],
            "images": images,
        }
    for model in state["models"]:
        if model["status"] == "Deleted":
            continue
        project = projects_by_id[model["project_id"]]["project_name"]
        out[project]["models"][model["name"]] = {
            "dataset": datasets_by_id[model["dataset_id"]]["name"],
            "status": model["status"],
            # the current generation's models have a training_mode (and its parameters) instead
            "training_version": (
                model.get("training_version") or model.get("training_mode") or ""
            ).lower(),
            **(
                {"training_parameters": model["training_parameters"]}
                if model.get("training_parameters") is not None
                else {}
            ),
        }
    return out


def duplicates(state: dict[str, Any]) -> list[str]:
    """Names that appear twice where the reconciler must create only one."""
    found: list[str] = []
    projects = Counter(p["project_name"] for p in state["projects"])
    found += [f"project {n}" for n, c in projects.items() if c > 1]
    datasets = Counter((d["project_id"], d["name"]) for d in state["datasets"])
    found += [f"dataset {k}" for k, c in datasets.items() if c > 1]
    images = Counter((i["dataset_id"], i["image_name"]) for i in state["images"])
    found += [f"image {k}" for k, c in images.items() if c > 1]
    models = Counter(
        (m["project_id"], m["name"]) for m in state["models"] if m["status"] != "Deleted"
    )
    found += [f"model {k}" for k, c in models.items() if c > 1]
    return found


def cli_env(server: EmulatorServer, **extra: str) -> dict[str, str]:
    env = {"BRIA_API_URL": server.url, "BRIA_API_TOKEN": TOKEN, "NO_COLOR": "1"}
    env.update(extra)
    return env


def run(server: EmulatorServer, *args: str, input: str | None = None, **env: str) -> Result:
    """The real CLI in-process (CliRunner), against the emulator."""
    runner = CliRunner()
    return runner.invoke(cli, list(args), env=cli_env(server, **env), input=input)


def run_subprocess(
    server: EmulatorServer, args: Sequence[str], cwd: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **cli_env(server, **env)}
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class World:
    """One e2e scenario: a manifest tree in the current directory and an emulator account."""

    def __init__(self, root: Path, server: EmulatorServer) -> None:
        from manifest_builders import ManifestTree

        self.root = root
        self.server = server
        self.tree = ManifestTree(root)

    def cli(self, *args: str, input: str | None = None, **env: str) -> Result:
        return run(self.server, *args, input=input, **env)

    def plan(self, *args: str) -> Result:
        self.tree.write()
        return self.cli("plan", "manifests", *args)

    def apply(self, *args: str) -> Result:
        self.tree.write()
        result = self.cli("apply", "manifests", "--auto-approve", *args)
        assert result.exit_code == 0, result.output
        return result

    def converge(self, *args: str) -> Result:
        """apply, then a plan that must show no changes (exit 0 with --detailed-exitcode)."""
        applied = self.apply(*args)
        replan = self.plan("--detailed-exitcode", *args)
        assert replan.exit_code == 0, replan.output
        assert "No changes" in replan.output
        return applied

    def state(self) -> dict[str, Any]:
        return summary(account(self.server))

    def raw_state(self) -> dict[str, Any]:
        return account(self.server)

    def client(self) -> Any:
        from reconciler.client import BriaClient

        return BriaClient(self.server.url, TOKEN)


#: Emulator knobs for worlds whose tests only need a stopping training or a caption job to end,
#: not to last: apply's polls then wait 10-20 ms for them instead of 50-200 ms.
QUICK_WAITS: dict[str, float] = {"stopping_seconds": 0.02, "captions_seconds": 0.01}


def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **knobs: Any) -> Iterator[World]:
    """For a `world` fixture: a fresh account and an empty manifest tree in tmp_path (also the
    working directory, which the manifest loader treats as the repository boundary outside git).
    `knobs`: emulator settings (/_emulator/config) besides 30 s trainings (e.g. QUICK_WAITS)."""
    monkeypatch.chdir(tmp_path)
    with running_emulator(tmp_path / "emu", training_seconds=30) as server:
        if knobs:
            set_knobs(server, **knobs)
        yield World(tmp_path, server)


def declared_shape(tree: Any) -> dict[str, Any]:
    """What a converged account must hold for a `ManifestTree` (first versions, fresh account):
    per project, datasets (status, prefix, image names, manifest captions) and models."""
    import hashlib

    from manifest_builders import png_bytes

    from reconciler.naming import image_remote_name

    shape: dict[str, Any] = {name: {"datasets": {}, "models": {}} for name in tree.projects}
    for (project, name), doc in tree.datasets.items():
        spec = doc["spec"]
        files = tree.images[(project, name)]
        names = {
            file: image_remote_name(file, hashlib.sha256(png_bytes(seed)).hexdigest())
            for file, seed in files.items()
        }
        shape[project]["datasets"][name] = {
            "status": spec.get("status", "completed"),
            "caption_prefix": spec.get("caption_prefix"),
            "images": sorted(names.values()),
            "manual": {names[f]: c for f, c in (spec.get("captions") or {}).items()},
        }
    for (project, name), doc in tree.models.items():
        shape[project]["models"][name] = {
            "dataset": doc["spec"]["dataset"],
            "training_version": doc["spec"]["training_version"],
        }
    return shape


def account_shape(state: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """The account in `declared_shape`'s form (prefix only where the manifest sets one)."""
    compact = summary(state)
    shape: dict[str, Any] = {}
    for project, content in compact.items():
        shape[project] = {"datasets": {}, "models": {}}
        for name, dataset in content["datasets"].items():
            base = name.split("~")[0]
            declared = like.get(project, {}).get("datasets", {}).get(base, {})
            shape[project]["datasets"][name] = {
                "status": dataset["status"],
                "caption_prefix": dataset["caption_prefix"]
                if declared.get("caption_prefix") is not None
                else None,
                "images": sorted(n for n, _, _ in dataset["images"]),
                "manual": {n: c for n, c, s in dataset["images"] if s == "manual"},
            }
        for name, model in content["models"].items():
            shape[project]["models"][name] = {
                "dataset": model["dataset"],
                "training_version": model["training_version"],
            }
    return shape


def assert_converged_exactly(world: World) -> None:
    """A following plan is empty, and the account holds exactly the declared resources."""
    replan = world.plan("--detailed-exitcode")
    assert replan.exit_code == 0, replan.output
    state = world.raw_state()
    assert duplicates(state) == []
    expected = declared_shape(world.tree)
    assert account_shape(state, expected) == expected
    assert all(m["status"] != "Failed" for m in state["models"])


def current_shape(state: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """`account_shape`, keeping only the highest version of each dataset and model, under its
    base name (what a converged account must show after any number of edits)."""
    from reconciler.naming import parse_versioned_name

    shape = account_shape(state, like)
    current: dict[str, Any] = {}
    for project, content in shape.items():
        out: dict[str, Any] = {"datasets": {}, "models": {}}
        for kind in ("datasets", "models"):
            best: dict[str, tuple[int, Any]] = {}
            for name, value in content[kind].items():
                parsed = parse_versioned_name(name)
                if parsed is None:
                    continue
                if parsed.base not in best or parsed.version > best[parsed.base][0]:
                    best[parsed.base] = (parsed.version, value)
            out[kind] = {base: value for base, (_, value) in best.items()}
        for model in out["models"].values():
            parsed = parse_versioned_name(model["dataset"])
            model["dataset"] = parsed.base if parsed else model["dataset"]
        current[project] = out
    return current
