"""One failing manifest per rule: the exact message, its line, and exit code 1 from `validate`.

Each case is a small repository: `m.yaml` (plus `n.yaml` where a rule spans files) and an
`images/` folder with one valid image. The case must produce exactly the errors listed, so a
rule that fires too often fails its test as surely as one that does not fire.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_manifest_support import PROJECT, add_images, located, make_repo, validate, write

DATASET = """\
apiVersion: tailored-gen/v1
kind: Dataset
metadata:
  name: lora-v1
  project: lora
spec:
  images: images
"""


def model(name: str = "lora-light", dataset: str = "lora-v1", version: str = "light") -> str:
    return f"""\
apiVersion: tailored-gen/v1
kind: Model
metadata:
  name: {name}
  project: lora
spec:
  dataset: {dataset}
  training_version: {version}
"""


def docs(*parts: str) -> str:
    return "---\n".join(parts)


def project(**spec: str) -> str:
    body = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return f"apiVersion: tailored-gen/v1\nkind: Project\nmetadata:\n  name: lora\nspec:\n{body}"


CASES: dict[str, tuple[dict[str, str], list[tuple[str, int, str]]]] = {
    # ---- documents, kinds, schema
    "yaml-syntax": (
        {"m.yaml": "kind: [Project\n"},
        [("m.yaml", 2, "invalid YAML: expected ',' or ']'")],
    ),
    "not-a-mapping": (
        {"m.yaml": "- a\n- b\n"},
        [("m.yaml", 1, ("must be a mapping with apiVersion, kind, metadata and spec, not a list"))],
    ),
    "no-apiversion": (
        {"m.yaml": PROJECT.replace("apiVersion: tailored-gen/v1\n", "")},
        [("m.yaml", 1, ("document has no apiVersion; add 'apiVersion: tailored-gen/v1'"))],
    ),
    "unknown-apiversion": (
        {"m.yaml": PROJECT.replace("/v1", "/v2")},
        [
            (
                "m.yaml",
                1,
                ("unknown apiVersion 'tailored-gen/v2'; this reconciler reads 'tailored-gen/v1'"),
            )
        ],
    ),
    "unknown-kind": (
        {"m.yaml": PROJECT.replace("kind: Project", "kind: Projekt")},
        [
            (
                "m.yaml",
                2,
                (
                    "unknown kind 'Projekt'; expected one of 'Project', "
                    "'Dataset', 'Model' (did you mean 'Project'?)"
                ),
            )
        ],
    ),
    "wrong-type": (
        {"m.yaml": PROJECT.replace("ip_name: Lora", "ip_name: 42")},
        [("m.yaml", 8, ("'spec.ip_name' must be a string, not the number 42; put it in quotes"))],
    ),
    "yaml-boolean": (
        {"m.yaml": PROJECT.replace("ip_name: Lora", "ip_name: no")},
        [("m.yaml", 8, "'spec.ip_name' must be a string, not the boolean false")],
    ),
    "enum": (
        {"m.yaml": PROJECT.replace("ip_medium: illustration", "ip_medium: ilustration")},
        [
            (
                "m.yaml",
                7,
                (
                    "'spec.ip_medium' must be one of 'illustration', "
                    "'photography', not 'ilustration' (did you mean "
                    "'illustration'?)"
                ),
            )
        ],
    ),
    "required-field": (
        {"m.yaml": PROJECT.replace("  ip_type: defined_character\n", "")},
        [("m.yaml", 5, "project 'lora' is missing the required field 'spec.ip_type'")],
    ),
    "required-spec": (
        {"m.yaml": PROJECT.split("spec:")[0]},
        [("m.yaml", 1, "project 'lora' is missing the required field 'spec'")],
    ),
    "unknown-field": (
        {"m.yaml": PROJECT.replace("ip_name:", "ip_nmae:")},
        [
            (
                "m.yaml",
                8,
                ("unknown field 'ip_nmae' in spec of project 'lora' (did you mean 'ip_name'?)"),
            ),
            ("m.yaml", 5, "project 'lora' needs spec.ip_name"),
        ],
    ),
    "unknown-top-field": (
        {"m.yaml": PROJECT.replace("spec:", "specs:")},
        [
            ("m.yaml", 5, ("unknown field 'specs' in project 'lora' (did you mean 'spec'?)")),
            ("m.yaml", 1, "missing the required field 'spec'"),
        ],
    ),
    "allowreplace-on-dataset": (
        {
            "m.yaml": docs(
                PROJECT,
                DATASET.replace("  project: lora\n", "  project: lora\n  allowReplace: true\n"),
            )
        },
        [("m.yaml", 16, ("unknown field 'allowReplace' in metadata of dataset 'lora-v1'"))],
    ),
    "empty-images": (
        {"m.yaml": docs(PROJECT, DATASET.replace("images: images", 'images: ""'))},
        [("m.yaml", 17, "'spec.images' must not be empty")],
    ),
    "blank-caption-prefix": (
        {"m.yaml": docs(PROJECT, DATASET + '  caption_prefix: "  "\n')},
        [("m.yaml", 18, "'spec.caption_prefix' must not be empty")],
    ),
    "empty-caption-prefix": (
        {"m.yaml": docs(PROJECT, DATASET + '  caption_prefix: ""\n')},
        [("m.yaml", 18, "'spec.caption_prefix' must not be empty")],
    ),
    "blank-caption": (
        {"m.yaml": docs(PROJECT, DATASET + '  captions:\n    img-001.png: " "\n')},
        [("m.yaml", 19, """'spec.captions["img-001.png"]' must not be empty""")],
    ),
    "api-name-project-description": (
        {"m.yaml": PROJECT + "  project_description: Spring campaign\n"},
        [
            (
                "m.yaml",
                10,
                "unknown field 'project_description' in spec of project 'lora' (the project's "
                "description is 'description')",
            )
        ],
    ),
    "api-name-dataset-id": (
        {"m.yaml": docs(PROJECT, DATASET, model() + "  dataset_id: 12\n")},
        [
            (
                "m.yaml",
                27,
                "unknown field 'dataset_id' in spec of model 'lora-light' (the dataset is "
                "named in 'dataset')",
            )
        ],
    ),
    "duplicate-key": (
        {"m.yaml": PROJECT + "  ip_type: icons\n"},
        [("m.yaml", 10, ("duplicate key 'ip_type' (first written at line 6); remove one of them"))],
    ),
    # ---- names
    "name-space": (
        {"m.yaml": PROJECT.replace("name: lora", "name: my lora")},
        [
            (
                "m.yaml",
                4,
                ("name 'my lora' is not allowed: it contains a space; names are 1-63 letters"),
            )
        ],
    ),
    "name-separator": (
        {"m.yaml": PROJECT.replace("name: lora", "name: team/lora")},
        [("m.yaml", 4, ("name 'team/lora' is not allowed: it contains a path separator"))],
    ),
    "name-control": (
        {"m.yaml": PROJECT.replace("name: lora", 'name: "lo\\ara"')},
        [("m.yaml", 4, ("name 'lo\\x07ra' is not allowed: it contains a control character"))],
    ),
    "name-newline": (
        {"m.yaml": PROJECT.replace("name: lora", 'name: "lora\\n"')},
        [("m.yaml", 4, ("name 'lora\\x0a' is not allowed: it contains a control character"))],
    ),
    "name-tilde": (
        {"m.yaml": PROJECT.replace("name: lora", "name: lora~2")},
        [("m.yaml", 4, "it contains '~', which is reserved for version suffixes")],
    ),
    "name-too-long": (
        {"m.yaml": PROJECT.replace("name: lora", "name: " + "a" * 64)},
        [("m.yaml", 4, "it is 64 characters long, over 63")],
    ),
    "name-start": (
        {"m.yaml": PROJECT.replace("name: lora", "name: -lora")},
        [("m.yaml", 4, "it must start with a letter or digit")],
    ),
    "name-dotdot": (
        {"m.yaml": docs(PROJECT, DATASET.replace("project: lora", "project: ../lora"))},
        [("m.yaml", 15, ("project name '../lora' is not allowed: it contains a path separator"))],
    ),
    "name-dataset-ref": (
        {"m.yaml": docs(PROJECT, DATASET, model(dataset="data/v1"))},
        [("m.yaml", 25, ("dataset name 'data/v1' is not allowed: it contains a path separator"))],
    ),
    # ---- references and duplicates
    "duplicate-project": (
        {"m.yaml": PROJECT, "n.yaml": PROJECT},
        [
            ("m.yaml", 4, "project 'lora' is declared more than once (also at n.yaml:4)"),
            ("n.yaml", 4, "project 'lora' is declared more than once (also at m.yaml:4)"),
        ],
    ),
    "duplicate-dataset": (
        {"m.yaml": docs(PROJECT, DATASET, DATASET)},
        [
            (
                "m.yaml",
                14,
                (
                    "dataset 'lora-v1' is declared more than once in project "
                    "'lora' (also at m.yaml:22)"
                ),
            ),
            ("m.yaml", 22, "(also at m.yaml:14)"),
        ],
    ),
    "undeclared-project": (
        {"m.yaml": docs(PROJECT, DATASET.replace("project: lora", "project: lorra"))},
        [
            (
                "m.yaml",
                15,
                (
                    "dataset 'lora-v1' refers to project 'lorra', which no "
                    "manifest declares (did you mean 'lora'?)"
                ),
            )
        ],
    ),
    "undeclared-dataset": (
        {"m.yaml": docs(PROJECT, DATASET, model(dataset="lora-v2"))},
        [
            (
                "m.yaml",
                25,
                (
                    "model 'lora-light' refers to dataset 'lora-v2', which "
                    "project 'lora' does not declare (did you mean 'lora-v1'?)"
                ),
            )
        ],
    ),
    "dataset-of-other-project": (
        {
            "m.yaml": docs(
                PROJECT,
                PROJECT.replace("name: lora", "name: other"),
                DATASET.replace("project: lora", "project: other"),
                model(),
            )
        },
        [
            (
                "m.yaml",
                35,
                (
                    "it is declared in project 'other', but a model must use a "
                    "dataset of its own project"
                ),
            )
        ],
    ),
    "project-deleted": (
        {
            "m.yaml": docs(
                PROJECT.replace("  name: lora\n", "  name: lora\n  delete: true\n"), DATASET
            )
        },
        [
            (
                "m.yaml",
                16,
                (
                    "dataset 'lora-v1' belongs to project 'lora', which is marked"
                    " for deletion; mark it 'delete: true' too"
                ),
            )
        ],
    ),
    "dataset-deleted": (
        {
            "m.yaml": docs(
                PROJECT,
                DATASET.replace("  project: lora\n", "  project: lora\n  delete: true\n"),
                model(),
            )
        },
        [
            (
                "m.yaml",
                26,
                ("model 'lora-light' uses dataset 'lora-v1', which is marked for deletion"),
            )
        ],
    ),
    # ---- the API's rules
    "ip-type-medium": (
        {"m.yaml": project(ip_type="icons", ip_medium="photography")},
        [
            (
                "m.yaml",
                6,
                (
                    "project 'lora': ip_type 'icons' is only available with "
                    "ip_medium 'illustration', not 'photography'"
                ),
            )
        ],
    ),
    "ip-name-required": (
        {
            "m.yaml": project(
                ip_type="defined_character", ip_medium="illustration", ip_description="a cat"
            )
        },
        [
            (
                "m.yaml",
                5,
                (
                    "project 'lora' needs spec.ip_name: Bria requires it for "
                    "ip_type 'defined_character'"
                ),
            )
        ],
    ),
    "ip-description-required": (
        {"m.yaml": project(ip_type="object_variants", ip_medium="illustration")},
        [
            (
                "m.yaml",
                5,
                (
                    "project 'lora' needs spec.ip_description: Bria requires it "
                    "for ip_type 'object_variants'"
                ),
            )
        ],
    ),
    "ip-name-words": (
        {"m.yaml": PROJECT.replace("ip_name: Lora", "ip_name: Lora the Purple Explorer")},
        [("m.yaml", 8, ("ip_name 'Lora the Purple Explorer' has 4 words; Bria accepts 1-3 words"))],
    ),
    "ip-name-blank": (
        {"m.yaml": PROJECT.replace("ip_name: Lora", 'ip_name: "  "')},
        [("m.yaml", 8, "has 0 words; Bria accepts 1-3 words")],
    ),
    "ip-description-words": (
        {"m.yaml": PROJECT.replace("purple hair", "long purple hair")},
        [("m.yaml", 9, "has 7 words; Bria accepts at most 6")],
    ),
    "max-photography": (
        {
            "m.yaml": docs(
                project(ip_type="stylized_scene", ip_medium="photography"),
                DATASET,
                model(version="max"),
            )
        },
        [
            (
                "m.yaml",
                24,
                (
                    "model 'lora-light' uses training_version 'max', which Bria "
                    "does not offer for ip_medium 'photography' (project 'lora');"
                    " use 'light'"
                ),
            )
        ],
    ),
}


@pytest.mark.parametrize(("files", "expected"), list(CASES.values()), ids=list(CASES))
def test_rule(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    expected: list[tuple[str, int, str]],
) -> None:
    make_repo(tmp_path)
    add_images(tmp_path / "images", 1)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    code, report = validate(*sorted(files))

    assert code == 1
    errors = located(report)
    for file, line, fragment in expected:
        assert any(f == file and ln == line and fragment in msg for f, ln, msg in errors), (
            f"no {file}:{line} error containing {fragment!r} in {errors}"
        )
    assert len(errors) == len(expected), errors


def test_every_rule_case_starts_from_a_valid_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents the cases mutate are valid as they stand (exit 0, no error)."""
    make_repo(tmp_path)
    add_images(tmp_path / "images", 15)
    write(tmp_path / "m.yaml", docs(PROJECT, DATASET, model()))
    monkeypatch.chdir(tmp_path)

    code, report = validate("m.yaml")

    assert (code, report["errors"], report["warnings"]) == (0, 0, 0), report


def test_deleted_resources_need_no_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(tmp_path)
    write(
        tmp_path / "m.yaml",
        """
        apiVersion: tailored-gen/v1
        kind: Project
        metadata: {name: old-project, delete: true}
        ---
        apiVersion: tailored-gen/v1
        kind: Dataset
        metadata: {name: old-data, project: old-project, delete: true}
        ---
        apiVersion: tailored-gen/v1
        kind: Model
        metadata: {name: old-model, project: old-project, delete: true}
        """,
    )
    monkeypatch.chdir(tmp_path)

    code, report = validate("m.yaml")

    assert (code, report["errors"]) == (0, 0), report
