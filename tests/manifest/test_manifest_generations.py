"""Manifests of both API generations: a Model with exactly one of training_version (reference)
or training_mode (current), expert-only training_parameters (the published ranges) and
checkpoint, a Dataset's visual_schema (file or inline) and upload_type, and the current
generation's completion rules (5 images, a visual schema). Each case: the exact message, its
line, exit code 1 from `validate`; valid cases exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_manifest_support import PROJECT, add_images, located, make_repo, validate, write

from reconciler.manifest import load_manifests

SCHEMA = {"style": "flat vector glyph", "colors": ["white", "teal"]}


def dataset(*extra: str, status: str = "completed") -> str:
    body = "".join(f"  {line}\n" for line in extra)
    return (
        "apiVersion: tailored-gen/v1\nkind: Dataset\nmetadata:\n  name: lora-v1\n"
        f"  project: lora\nspec:\n  images: images\n  status: {status}\n{body}"
    )


def model(*spec: str, name: str = "lora-m") -> str:
    body = "".join(f"  {line}\n" for line in spec)
    return (
        f"apiVersion: tailored-gen/v1\nkind: Model\nmetadata:\n  name: {name}\n  project: lora\n"
        f"spec:\n  dataset: lora-v1\n{body}"
    )


def docs(*parts: str) -> str:
    return "---\n".join(parts)


def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, images: int = 6) -> None:
    make_repo(tmp_path)
    add_images(tmp_path / "images", images)
    write(tmp_path / "schema.json", json.dumps(SCHEMA))
    write(tmp_path / "m.yaml", text)
    monkeypatch.chdir(tmp_path)


CURRENT_DATASET = dataset("visual_schema: schema.json", "upload_type: basic")


def line_of(text: str, marker: str, after: str = "") -> int:
    """The line of m.yaml where `marker` is first written (after the first `after`)."""
    start = text.index(after) if after else 0
    return text[: text.index(marker, start)].count("\n") + 1


# (m.yaml, images, [(marker: the error's line is where it is first written, message part)])
CASES: dict[str, tuple[str, int, list[tuple[str, str]]]] = {
    "both-generations": (
        docs(PROJECT, CURRENT_DATASET, model("training_version: light", "training_mode: expert")),
        6,
        [
            (
                "training_mode: expert",
                "model 'lora-m' sets both training_version (the reference generation) and "
                "training_mode (Bria's current generation); keep the one your account uses",
            )
        ],
    ),
    "no-generation": (
        docs(PROJECT, CURRENT_DATASET, model("description: d")),
        6,
        [
            (
                "spec:\n  dataset",
                "model 'lora-m' is missing the required field 'spec.training_version' (light | "
                "max), or 'spec.training_mode' (fully_automated | expert) for Bria's current "
                "generation; set exactly one",
            )
        ],
    ),
    "bad-mode": (
        docs(PROJECT, CURRENT_DATASET, model("training_mode: expertt")),
        6,
        [
            (
                "training_mode: expertt",
                "'spec.training_mode' must be one of 'fully_automated', 'expert', not 'expertt' "
                "(did you mean 'expert'?)",
            )
        ],
    ),
    "parameters-without-expert": (
        docs(
            PROJECT,
            CURRENT_DATASET,
            model("training_mode: fully_automated", "training_parameters:", "  rank: 64"),
        ),
        6,
        [
            (
                "training_parameters:",
                "model 'lora-m' sets training_parameters, which only an expert model has; set "
                "training_mode 'expert' or remove training_parameters",
            )
        ],
    ),
    "inline-json-string-not-json": (
        docs(PROJECT, dataset("visual_schema: '{\"style\": flat}'")),
        6,
        [
            (
                "visual_schema:",
                "dataset 'lora-v1': the inline visual_schema is not JSON (Expecting value at "
                "line 1 column 11); write it as a JSON object, as a YAML mapping, or as a path",
            )
        ],
    ),
    "rank-out-of-range": (
        docs(
            PROJECT,
            CURRENT_DATASET,
            model("training_mode: expert", "training_parameters:", "  rank: 512"),
        ),
        6,
        [("rank: 512", "'spec.training_parameters.rank' is invalid: 512 is greater than")],
    ),
    "learning-rate-out-of-range": (
        docs(
            PROJECT,
            CURRENT_DATASET,
            model("training_mode: expert", "training_parameters:", "  learning_rate: 0.01"),
        ),
        6,
        [("learning_rate: 0.01", "'spec.training_parameters.learning_rate' is invalid: 0.01 is")],
    ),
    "unknown-parameter": (
        docs(
            PROJECT,
            CURRENT_DATASET,
            model("training_mode: expert", "training_parameters:", "  ranks: 64"),
        ),
        6,
        [("ranks: 64", "unknown field 'ranks' in spec.training_parameters of model 'lora-m'")],
    ),
    "warmup-without-warmup-scheduler": (
        docs(
            PROJECT,
            CURRENT_DATASET,
            model(
                "training_mode: expert",
                "training_parameters:",
                "  lr_scheduler: cosine",
                "  lr_warmup_steps: 50",
            ),
        ),
        6,
        [
            (
                "lr_warmup_steps: 50",
                "model 'lora-m' sets lr_warmup_steps, which Bria uses only with lr_scheduler "
                "'constant_with_warmup', not 'cosine'",
            )
        ],
    ),
    "checkpoint-not-saved": (
        docs(
            PROJECT,
            CURRENT_DATASET,
            model(
                "training_mode: expert",
                "training_parameters:",
                "  total_training_steps: 1000",
                "  checkpoint_interval: 300",
                "checkpoint: 500",
            ),
        ),
        6,
        [
            (
                "checkpoint: 500",
                "model 'lora-m': checkpoint 500 is not a step the training saves (every "
                "checkpoint_interval and the last step: 300, 600, 900, 1000)",
            )
        ],
    ),
    "advanced-upload": (
        docs(PROJECT, dataset("visual_schema: schema.json", "upload_type: advanced")),
        6,
        [
            (
                "upload_type: advanced",
                "dataset 'lora-v1': upload_type 'advanced' (bulk zip upload, up to 5000 images) "
                "is not supported by the reconciler; use 'basic' (up to 200 images, one by one)",
            )
        ],
    ),
    "caption-prefix-on-current": (
        docs(PROJECT, dataset("visual_schema: schema.json", "caption_prefix: An icon of")),
        6,
        [
            (
                "caption_prefix:",
                "has no caption_prefix; describe the style in spec.visual_schema instead",
            )
        ],
    ),
    "four-images": (
        docs(PROJECT, CURRENT_DATASET, model("training_mode: fully_automated")),
        4,
        [
            (
                "images: images",
                "dataset 'lora-v1' has 4 images; Bria's current generation completes a dataset "
                "only with at least 5 (add images, or set status: draft)",
            )
        ],
    ),
    "no-schema-for-a-training-mode-model": (
        docs(PROJECT, dataset(), model("training_mode: fully_automated")),
        6,
        [
            (
                "spec:\n  images",
                "dataset 'lora-v1' is completed for Bria's current generation, which needs "
                "spec.visual_schema first; write one with `reconciler schema generate "
                "lora/lora-v1` and point spec.visual_schema at the file",
            )
        ],
    ),
    "missing-schema-file": (
        docs(PROJECT, dataset("visual_schema: nowhere.json")),
        6,
        [("visual_schema:", "dataset 'lora-v1': visual_schema file 'nowhere.json' cannot be read")],
    ),
    "schema-not-json": (
        docs(PROJECT, dataset("visual_schema: m.yaml")),
        6,
        [("visual_schema:", "dataset 'lora-v1': visual_schema file 'm.yaml' is not JSON (line 1:")],
    ),
    "schema-a-number": (
        docs(PROJECT, dataset("visual_schema: 5")),
        6,
        [
            (
                "visual_schema:",
                "'spec.visual_schema' must be a string or a mapping, not the number 5",
            )
        ],
    ),
    "plain-text-caption": (
        docs(PROJECT, dataset("visual_schema: schema.json", "captions:", "  img-001.png: a cat")),
        6,
        [
            (
                "img-001.png:",
                "dataset 'lora-v1': the caption of 'img-001.png' (spec.captions) is not JSON; "
                "Bria's current generation takes a caption as a JSON structure",
            )
        ],
    ),
    "mixed-users": (
        docs(
            PROJECT,
            CURRENT_DATASET,
            model("training_mode: expert", name="a"),
            model("training_version: light", name="b"),
        ),
        6,
        [
            (
                "name: lora-v1",
                "dataset 'lora-v1' is used by models of both API generations (training_version: "
                "'b'; training_mode: 'a')",
            )
        ],
    ),
}


@pytest.mark.parametrize(("text", "images", "expected"), CASES.values(), ids=CASES.keys())
def test_current_generation_rule(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    images: int,
    expected: list[tuple[str, str]],
) -> None:
    repo(tmp_path, monkeypatch, text, images)
    code, report = validate("m.yaml")
    assert code == 1, report
    errors = located(report)
    for marker, fragment in expected:
        line = line_of(text, marker, after="kind: Dataset")
        assert any(f == "m.yaml" and ln == line and fragment in msg for f, ln, msg in errors), (
            f"no m.yaml:{line} error containing {fragment!r} in {errors}"
        )
    assert len(errors) == len(expected), errors


def test_a_current_generation_repository_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = docs(
        PROJECT,
        CURRENT_DATASET,
        model("training_mode: fully_automated", name="auto"),
        model(
            "training_mode: expert",
            "training_parameters:",
            "  rank: 64",
            "  learning_rate: 0.0002",
            "  total_training_steps: 1000",
            "  checkpoint_interval: 250",
            'checkpoint: "750"',
            name="expert",
        ),
    )
    repo(tmp_path, monkeypatch, text)
    code, report = validate("m.yaml")
    assert (code, report["errors"], report["warnings"]) == (0, 0, 0), report


def test_an_inline_schema_and_a_draft_with_few_images_are_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = dataset("visual_schema:", "  style: flat", status="draft")
    repo(tmp_path, monkeypatch, docs(PROJECT, inline), images=2)
    code, report = validate("m.yaml")
    assert (code, report["errors"]) == (0, 0), report


def test_the_reference_generation_keeps_its_one_image_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo(tmp_path, monkeypatch, docs(PROJECT, dataset(), model("training_version: max")), 1)
    code, report = validate("m.yaml")
    assert (code, report["errors"]) == (0, 0), report


def test_the_schema_file_is_read_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader reads the file beside the manifest (or the inline mapping) as the JSON text
    to send, in the file's own key order."""
    repo(tmp_path, monkeypatch, docs(PROJECT, CURRENT_DATASET))
    result = load_manifests(["m.yaml"])
    assert result.ok, result.diagnostics
    (desired,) = result.state.datasets
    assert desired.visual_schema is not None
    assert json.loads(desired.visual_schema) == SCHEMA
    assert desired.upload_type == "basic"


def test_a_schema_written_as_bria_stores_it_a_json_string_is_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(json.dumps(SCHEMA))  # a YAML double-quoted scalar holding the JSON
    repo(tmp_path, monkeypatch, docs(PROJECT, dataset(f"visual_schema: {text}")))
    result = load_manifests(["m.yaml"])
    assert result.ok, result.diagnostics
    (desired,) = result.state.datasets
    assert desired.visual_schema is not None and json.loads(desired.visual_schema) == SCHEMA
    assert desired.visual_schema_file is None  # not a path: schema generate writes beside


def test_json_captions_and_expert_parameters_reach_the_desired_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = docs(
        PROJECT,
        dataset(
            "visual_schema: schema.json", "captions:", '  img-001.png: \'{"subject": "a cat"}\''
        ),
        model(
            "training_mode: expert",
            "training_parameters:",
            "  rank: 64.0",
            "  learning_rate: 0.0002",
            "checkpoint: 750.0",
        ),
    )
    repo(tmp_path, monkeypatch, text)
    result = load_manifests(["m.yaml"])
    assert result.ok, result.diagnostics
    (desired,) = result.state.models
    assert type(dict(desired.training_parameters or ())["rank"]) is int  # 64.0 is sent as 64
    assert (desired.training_version, desired.training_mode, desired.checkpoint) == (
        None,
        "expert",
        750,
    )
    assert desired.training_parameters == (("learning_rate", 0.0002), ("rank", 64))
    (ds,) = result.state.datasets
    assert [i.caption for i in ds.images if i.caption] == ['{"subject": "a cat"}']


def test_max_and_training_mode_models_in_one_project_are_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = dataset().replace("lora-v1", "lora-ref")
    text = docs(
        PROJECT,
        CURRENT_DATASET,
        reference,
        model("training_mode: fully_automated", name="new"),
        model("training_version: max", name="old").replace("dataset: lora-v1", "dataset: lora-ref"),
    )
    repo(tmp_path, monkeypatch, text, images=15)
    code, report = validate("m.yaml")
    assert (code, report["errors"]) == (0, 0), report
    assert located(report, "warning") == [
        (
            "m.yaml",
            4,
            "project 'lora' has max models ('old') and training_mode models ('new'); Bria locks "
            "a project to one training version family ('max' or 'fibo'), so it may refuse one "
            "of them: keep each family in its own project",
        )
    ]
