"""Bria's current API generation end to end: the real CLI against the embedded emulator's
`current` profile. examples/manifests-current (a visual schema file, a fully automated and an
expert model) converges; a schema change on the completed dataset clones it and regenerates
captions; a training-parameter change replaces the model; a checkpoint the API cannot select is
said and changes nothing; and one account holding models of both generations plans cleanly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ENV = {"BRIA_API_TOKEN": "", "RECONCILER_EMULATOR_TRAINING_SECONDS": "0.05", "NO_COLOR": "1"}
CURRENT = ("--emulator", "--emulator-profile", "current")


@pytest.fixture
def examples_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "manifests", tmp_path / "examples" / "manifests")
    shutil.copytree(EXAMPLES / "manifests-current", tmp_path / "examples" / "manifests-current")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "examples"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=ENV)


def converge(path: str, *flags: str) -> Result:
    applied = run("apply", path, *flags, "--auto-approve", "--wait")
    assert applied.exit_code == 0, applied.output
    planned = run("plan", path, *flags, "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    return planned


def test_the_current_generation_examples_converge(examples_copy: Path) -> None:
    first = run("plan", "examples/manifests-current", *CURRENT, "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "set its visual schema, upload 8 images, then complete it" in first.output
    assert "(expert) and start training" in first.output
    planned = converge("examples/manifests-current", *CURRENT)
    assert "No changes. The account matches the manifests." in planned.output
    assert "trained (Completed) on dataset 'acme-badges-v1'" in planned.output


def test_a_schema_change_clones_and_a_parameter_change_replaces(examples_copy: Path) -> None:
    converge("examples/manifests-current", *CURRENT)
    folder = examples_copy / "manifests-current" / "acme-badges"
    schema = json.loads((folder / "visual-schema.json").read_text())
    schema["style"] = "outlined glyph, thin strokes"
    (folder / "visual-schema.json").write_text(json.dumps(schema))
    manifest = folder / "acme-badges.yaml"
    manifest.write_text(manifest.read_text().replace("rank: 64", "rank: 32"))

    planned = run("plan", "examples/manifests-current", *CURRENT, "--format", "json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    changes = {c["address"]: c for c in plan["changes"]}
    dataset = changes["dataset.acme-badges/acme-badges-v1"]
    assert dataset["action"] == "clone"
    assert "change the visual schema (all captions regenerate)" in dataset["reason"]
    ops = [step["op"] for step in dataset["operations"]]
    assert ops[:3] == ["CloneDataset", "UpdateDataset", "RegenerateCaptions"]
    expert = changes["model.acme-badges/acme-badges-expert"]
    assert expert["action"] == "replace"
    assert "training_parameters.rank 64 -> 32" in expert["reason"] or (
        "dataset changed" in expert["reason"]
    )
    start = next(step for step in expert["operations"] if step["op"] == "StartTraining")
    assert start["parameters"]["rank"] == 32

    converge("examples/manifests-current", *CURRENT)


def test_only_a_parameter_change_replaces_the_model_and_says_why(examples_copy: Path) -> None:
    converge("examples/manifests-current", *CURRENT)
    manifest = examples_copy / "manifests-current" / "acme-badges" / "acme-badges.yaml"
    manifest.write_text(manifest.read_text().replace("rank: 64", "rank: 32"))
    planned = run("plan", "examples/manifests-current", *CURRENT, "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    assert (
        "model 'acme-badges-expert' must be replaced: training_parameters.rank 64 -> 32: trains "
        "a new model 'acme-badges-expert~2'" in planned.output
    )
    assert "acme-badges-auto: trained (Completed)" in planned.output  # the other one stays


def test_a_checkpoint_the_api_cannot_select_is_said_not_acted_on(examples_copy: Path) -> None:
    converge("examples/manifests-current", *CURRENT)
    manifest = examples_copy / "manifests-current" / "acme-badges" / "acme-badges.yaml"
    manifest.write_text(manifest.read_text().replace("checkpoint: 1000", "checkpoint: 750"))
    planned = run("plan", "examples/manifests-current", *CURRENT, "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output  # nothing the API can do
    assert (
        "model 'acme-badges-expert' uses checkpoint 1000 for inference, not 750: Bria's API "
        "cannot select a checkpoint (Update Model takes only name and description), so the plan "
        "changes nothing; select checkpoint 750 in Bria's console"
    ) in planned.output


def test_an_account_with_models_of_both_generations_plans_without_errors(
    examples_copy: Path,
) -> None:
    converge("examples/manifests", "--emulator")  # light and max models (reference)
    converge("examples/manifests-current", *CURRENT)  # same account: training_mode models
    both = run("plan", "examples", *CURRENT, "--detailed-exitcode")
    assert both.exit_code == 0, both.output
    assert "error" not in both.output.lower()
    # the reference profile shows no visual_schema, so the current example's dataset differs
    # there (a change, exit 2), but reading the account of both generations is no error
    reference = run("plan", "examples", "--emulator", "--detailed-exitcode")
    assert reference.exit_code == 2, reference.output
    assert "lora-light: trained (Completed)" in reference.output


def test_import_writes_current_generation_manifests_that_plan_clean(examples_copy: Path) -> None:
    converge("examples/manifests-current", *CURRENT)
    imported = run("import", "--out", "imported", *CURRENT)
    assert imported.exit_code == 0, imported.output
    dataset = (
        examples_copy.parent / "imported/acme-badges/datasets/acme-badges-v1.yaml"
    ).read_text()
    assert (
        "visual_schema:\n    style: flat vector glyph" in dataset
        and "upload_type: basic" in dataset
    )
    model = (
        examples_copy.parent / "imported/acme-badges/models/acme-badges-expert.yaml"
    ).read_text()
    assert "training_mode: expert" in model and "rank: 64" in model
    assert "training_version" not in model
    planned = run("plan", "imported", *CURRENT, "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


@pytest.mark.slow
def test_the_current_examples_under_faults_end_like_a_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lost answers, failures and 429s on the current profile: the same account as a clean
    run, without a duplicate (the schema, upload type and expert parameters survive retries)."""
    from e2e_support import admin, duplicates, running_emulator, set_knobs, summary
    from e2e_support import run as run_against

    shutil.copytree(EXAMPLES / "manifests-current", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    with running_emulator(tmp_path / "clean", training_seconds=60, api_profile="current") as clean:
        assert run_against(clean, "apply", "examples", "--auto-approve").exit_code == 0
        expected = summary(admin(clean, "GET", "state"))
    with running_emulator(
        tmp_path / "faulty",
        training_seconds=60,
        api_profile="current",
        failure_rate=0.06,
        lost_response_rate=0.12,
        rate_limit_every=13,
        retry_after=0.02,
        seed=4,
    ) as faulty:
        codes = []
        for _attempt in range(8):
            codes.append(run_against(faulty, "apply", "examples", "--auto-approve").exit_code)
            if codes[-1] == 0:
                break
        assert codes[-1] == 0, codes
        assert admin(faulty, "GET", "stats")["faults"]["lost_responses"] > 0
        set_knobs(faulty, failure_rate=0.0, lost_response_rate=0.0, rate_limit_every=0)
        assert run_against(faulty, "plan", "examples", "--detailed-exitcode").exit_code == 0
        state = admin(faulty, "GET", "state")
    assert duplicates(state) == []
    assert summary(state) == expected
    (dataset,) = state["datasets"]
    assert (
        json.loads(dataset["visual_schema"])["style"] == "flat vector glyph, thick rounded strokes"
    )
