"""An account of both API generations, read through answers shaped like another faithful
reading of Bria's published OpenAPI than our emulator's.

The emulator is one reading of the OpenAPI; a stand-in written independently may answer the
same account differently and still be right: models embedded in a dataset list without their
training parameters (only model lists give them, when asked), `learning_rate` stored as a
float32 (`format: float`), a fully automated model reporting the parameters Bria chose, integer
checkpoint steps, datasets without `upload_type` or `caption_prefix`, images with a null
`caption_source`, unknown extra fields. A scripted server in front of the emulator rewrites the
answers that way; the converged account must still plan clean, and an expert parameter change
must still replace the model.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from e2e_support import TOKEN, running_emulator
from e2e_support import run as run_against
from hostile_server import Answer, HostileServer, Recorded, Rule

from reconciler.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODELS = r"/v1/tailored-gen/(projects/\d+/)?models(/\d+)?"
DATASETS = r"/v1/tailored-gen/(projects/\d+/)?datasets(/\d+)?"
PROJECTS = r"/v1/tailored-gen/projects(/\d+)?"
CHOSEN_BY_BRIA = {
    "rank": 128,
    "learning_rate": 0.0001,
    "lr_scheduler": "constant_with_warmup",
    "total_training_steps": 750,
    "checkpoint_interval": 500,
    "lr_warmup_steps": 100,
}


def _float32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _model(model: Any, *, embedded: bool = False) -> Any:
    if not isinstance(model, dict) or "training_mode" not in model:
        return model
    model["custom_metadata"] = ""
    if embedded:  # a dataset list's models: no training details
        model.pop("training_parameters", None)
        model.pop("checkpoint_steps", None)
        return model
    parameters = model.get("training_parameters")
    if model["training_mode"] == "fully_automated" and model["status"] != "Created":
        model["training_parameters"] = dict(CHOSEN_BY_BRIA)
    elif isinstance(parameters, dict) and "learning_rate" in parameters:
        parameters["learning_rate"] = _float32(parameters["learning_rate"])
        parameters.pop("lr_warmup_steps", None)
    if isinstance(model.get("checkpoint_steps"), list):
        model["checkpoint_steps"] = [int(step) for step in model["checkpoint_steps"]]
    return model


def _dataset(dataset: Any) -> Any:
    if not isinstance(dataset, dict):
        return dataset
    dataset.pop("upload_type", None)
    dataset.pop("caption_prefix", None)
    dataset["labels"] = {"unknown": "field"}
    if isinstance(dataset.get("models"), list):
        dataset["models"] = [_model(model, embedded=True) for model in dataset["models"]]
    for image in dataset.get("images") or []:
        image["caption_source"] = None
        image["upload_source_url"] = None
    return dataset


def _project(project: Any) -> Any:
    if isinstance(project, dict):
        project.pop("training_version", None)
        project["updated_at"] = "2025-01-01T00:00:00Z"
    return project


def _rewriting(server: HostileServer, shape: Callable[[Any], Any]) -> Callable[[Recorded], Answer]:
    def answer(request: Recorded) -> Answer:
        upstream = server.forward(request)
        try:
            body = json.loads(upstream.body)
        except (TypeError, ValueError):
            return upstream
        body = [shape(item) for item in body] if isinstance(body, list) else shape(body)
        return Answer(upstream.status, body, upstream.content_type, upstream.headers)

    return answer


def _plan(url: str, path: str) -> Result:
    env = {"BRIA_API_URL": url, "BRIA_API_TOKEN": TOKEN, "NO_COLOR": "1"}
    return CliRunner().invoke(cli, ["plan", path, "--detailed-exitcode"], env=env)


def test_a_converged_account_of_both_generations_plans_clean_through_other_answer_shapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES / "manifests", tmp_path / "reference")
    shutil.copytree(EXAMPLES / "manifests-current", tmp_path / "current")
    monkeypatch.chdir(tmp_path)
    # trainings as short as --wait allows: the point is the answers' shapes, not the wait
    with running_emulator(tmp_path / "bria", training_seconds=0.05) as emulator:
        applied = run_against(emulator, "apply", "reference", "--auto-approve", "--wait")
        assert applied.exit_code == 0, applied.output
    with running_emulator(
        tmp_path / "bria", api_profile="current", training_seconds=0.05
    ) as emulator:
        applied = run_against(emulator, "apply", "current", "--auto-approve", "--wait")
        assert applied.exit_code == 0, applied.output
        with HostileServer(emulator.url) as server:
            server.script(
                Rule("GET", MODELS, _rewriting(server, _model)),
                Rule("GET", DATASETS, _rewriting(server, _dataset)),
                Rule("GET", PROJECTS, _rewriting(server, _project)),
            )
            planned = _plan(server.url, ".")
            assert planned.exit_code == 0, planned.output
            assert "lora-light: trained (Completed)" in planned.output
            assert "acme-badges-expert: trained (Completed)" in planned.output

            manifest = tmp_path / "current" / "acme-badges" / "acme-badges.yaml"
            manifest.write_text(manifest.read_text().replace("rank: 64", "rank: 32"))
            planned = _plan(server.url, "current")
            assert planned.exit_code == 2, planned.output
            assert (
                "model 'acme-badges-expert' must be replaced: training_parameters.rank 64 -> 32"
                in planned.output
            )
            assert "acme-badges-auto: trained (Completed)" in planned.output
