"""`reconciler validate`: its text and JSON output, exit codes, paths, and the examples.

Runs the real CLI (click's CliRunner in-process; one subprocess run for the entry point) on
trees built in tmp_path, and on the committed examples, which must pass with no warning.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_manifest_support import PROJECT, add_images, make_repo, write

from reconciler.cli import cli
from reconciler.manifest import load_manifests
from reconciler.state import DesiredState

ROOT = Path(__file__).resolve().parents[2]
BROKEN = (
    PROJECT.replace("ip_name: Lora", "ip_name: Lora the Purple Explorer")
    + """\
---
apiVersion: tailored-gen/v1
kind: Dataset
metadata:
  name: lora-v1
  project: lora
spec:
  images: images
  statis: draft
"""
)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_examples_are_valid_without_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)

    code, output = invoke("validate", "examples/manifests")

    assert (
        output == "0 errors, 0 warnings in 4 files: 2 projects, 2 datasets, 3 models, 37 images\n"
    )
    assert code == 0


def test_examples_cover_both_caption_sources_and_two_ip_types() -> None:
    result = load_manifests([str(ROOT / "examples" / "manifests")])

    assert {(p.name, p.ip_type) for p in result.state.projects} == {
        ("lora", "defined_character"),
        ("acme-icons", "icons"),
    }
    assert {(m.name, m.training_version) for m in result.state.models} == {
        ("lora-light", "light"),
        ("lora-max", "max"),
        ("acme-icons-light", "light"),
    }
    origins = {i.caption_origin for d in result.state.datasets for i in d.images}
    assert origins == {"manifest", "sidecar", None}
    assert sum(1 for d in result.state.datasets if d.caption_prefix) == 1
    sizes = [i.size for d in result.state.datasets for i in d.images]
    assert max(sizes) < 30_000
    assert sum(sizes) < 1_500_000


def test_text_output_lists_every_diagnostic_then_a_summary(repo: Path) -> None:
    add_images(repo / "images", 1)
    write(repo / "m.yaml", BROKEN)

    code, output = invoke("validate")

    assert output.splitlines() == [
        "m.yaml:8:3: error: project 'lora': ip_name 'Lora the Purple Explorer' has 4 words; "
        "Bria accepts 1-3 words (e.g. 'Lora', 'Captain Smith')",
        "m.yaml:18:3: error: unknown field 'statis' in spec of dataset 'lora-v1' "
        "(did you mean 'status'?)",
        "2 errors, 0 warnings in 1 file",
    ]
    assert code == 1


def test_json_output(repo: Path) -> None:
    add_images(repo / "images", 1)
    write(repo / "m.yaml", BROKEN)

    code, output = invoke("validate", "--format", "json", ".")

    report = json.loads(output)
    assert code == 1
    assert (report["valid"], report["errors"], report["warnings"]) == (False, 2, 0)
    assert report["files"] == ["m.yaml"]
    assert report["diagnostics"][1] == {
        "file": "m.yaml",
        "line": 18,
        "col": 3,
        "severity": "error",
        "message": "unknown field 'statis' in spec of dataset 'lora-v1' (did you mean 'status'?)",
    }


def test_warnings_alone_exit_zero(repo: Path) -> None:
    add_images(repo / "images", 3)
    write(
        repo / "m.yaml",
        BROKEN.replace("Lora the Purple Explorer", "Lora").replace("statis", "status")
        + "---\napiVersion: tailored-gen/v1\nkind: Model\n"
        "metadata: {name: fast, project: lora}\n"
        "spec: {dataset: lora-v1, training_version: light}\n",
    )

    code, output = invoke("validate", "m.yaml")

    assert output.splitlines() == [
        "m.yaml:17:3: warning: dataset 'lora-v1' has 3 images; 15-100 are recommended for light "
        "models (used by 'fast')",
        "0 errors, 1 warning in 1 file: 1 project, 1 dataset, 1 model, 3 images",
    ]
    assert code == 0


def test_missing_path_and_folder_without_manifests(repo: Path) -> None:
    (repo / "empty").mkdir()

    code, output = invoke("validate", "nope", "empty")

    assert output.splitlines() == [
        "empty:1:1: error: no manifests (*.yaml, *.yml) found under 'empty'",
        "nope:1:1: error: path 'nope' does not exist",
        "2 errors, 0 warnings in 0 files",
    ]
    assert code == 1


def test_hidden_folders_are_skipped(repo: Path) -> None:
    add_images(repo / "images", 1)
    write(
        repo / "m.yaml",
        BROKEN.replace("Lora the Purple Explorer", "Lora").replace("statis", "status"),
    )
    for hidden in (".git", ".reconciler", ".venv"):
        write(repo / hidden / "junk.yaml", "not: [valid\n")

    code, output = invoke("validate")

    assert code == 0, output


def _without_sources(state: DesiredState) -> DesiredState:
    return DesiredState(
        projects=tuple(dataclasses.replace(p, source=None) for p in state.projects),
        datasets=tuple(dataclasses.replace(d, source=None) for d in state.datasets),
        models=tuple(dataclasses.replace(m, source=None) for m in state.models),
    )


def test_file_and_argument_order_do_not_change_the_result(repo: Path) -> None:
    add_images(repo / "shared", 2)
    dataset = BROKEN.split("---\n")[1].replace("statis", "status")
    dataset = dataset.replace("images: images", "images: ../shared")
    write(repo / "one" / "a.yaml", PROJECT)
    write(repo / "one" / "b.yaml", dataset)
    write(repo / "two" / "a.yaml", dataset)
    write(repo / "two" / "b.yaml", PROJECT)

    one = load_manifests(["one"])
    two = load_manifests(["two"])
    forwards = invoke("validate", "one/a.yaml", "one/b.yaml")
    backwards = invoke("validate", "one/b.yaml", "one/a.yaml")

    assert one.ok and two.ok, [str(d) for d in (*one.diagnostics, *two.diagnostics)]
    assert _without_sources(one.state) == _without_sources(two.state)
    assert len(one.state.datasets[0].images) == 2
    assert forwards == backwards


def test_entry_point_runs_without_token_or_network(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if "BRIA" not in k and "TOKEN" not in k}
    env["HTTPS_PROXY"] = env["HTTP_PROXY"] = "http://127.0.0.1:9"  # any request would fail

    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(ROOT / "examples" / "manifests")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.endswith(
        "0 errors, 0 warnings in 4 files: 2 projects, 2 datasets, 3 models, 37 images\n"
    )
    assert (tmp_path / ".reconciler" / "cache" / "images.json").exists()


def test_a_broken_sample_rule_points_at_the_field_that_breaks_it(repo: Path) -> None:
    add_images(repo / "images", 2)
    write(
        repo / "lora.yaml",
        PROJECT
        + """\
---
apiVersion: tailored-gen/v1
kind: Dataset
metadata:
  name: lora-v1
  project: lora
spec:
  images: images
---
apiVersion: tailored-gen/v1
kind: Model
metadata:
  name: lora-light
  project: lora
spec:
  dataset: lora-v1
  training_version: light
  samples:
    - prompt: Lora waving
      seed: 1
      fast: false
      num_results: 3
    - seed: 2
      steps_num: 30
      prompt: Lora reading
""",
    )
    lines = (repo / "lora.yaml").read_text().splitlines()
    at = {text.strip(): number for number, text in enumerate(lines, start=1)}
    code, output = invoke("validate", "lora.yaml")
    assert code == 1
    assert f"lora.yaml:{at['num_results: 3']}:7: error: model 'lora-light' sample 1" in output
    assert f"lora.yaml:{at['steps_num: 30']}:7: error: model 'lora-light' sample 2" in output
