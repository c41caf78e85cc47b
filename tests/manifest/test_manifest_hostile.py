"""Hostile and broken manifests (issue 5): each a located error, never a traceback or an object.

Also the property that matters most here: whatever bytes or YAML a file holds, `load_manifests`
returns diagnostics and never raises.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_manifest_support import PROJECT, located, make_repo, validate

from reconciler.manifest import LoadResult, load_manifests
from reconciler.manifest.yaml_loader import MAX_DEPTH, MAX_MANIFEST_BYTES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"
# loading one document takes milliseconds: four times the suite's share (tests/conftest.py)
FUZZ_EXAMPLES = 4 * settings.default.max_examples


def load_text(tmp_path: Path, content: str | bytes) -> LoadResult:
    make_repo(tmp_path)
    path = tmp_path / "m.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return load_manifests([str(path)])


def only_error(result: LoadResult) -> tuple[int, int, str]:
    assert len(result.errors) == 1, [str(d) for d in result.diagnostics]
    error = result.errors[0]
    return error.line, error.col, error.message


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]
"""


@pytest.mark.parametrize(
    ("content", "line", "col", "fragment"),
    [
        pytest.param(
            BILLION_LAUGHS, 2, 8, "YAML aliases ('*name') are not allowed", id="alias-bomb"
        ),
        pytest.param(
            "kind: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
            1,
            7,
            "the YAML tag '!!python/object/apply:os.system' is not allowed in manifests",
            id="python-object-tag",
        ),
        pytest.param(
            "kind: !!python/name:os.system\n", 1, 7, "'!!python/name:os.system'", id="python-name"
        ),
        pytest.param(
            "kind: !Ref Project\n", 1, 7, "the YAML tag '!Ref' is not allowed", id="local-tag"
        ),
        pytest.param("a: !!set {x, y}\n", 1, 4, "the YAML tag '!!set'", id="set-tag"),
        pytest.param("a: !!binary aGVsbG8=\n", 1, 4, "the YAML tag '!!binary'", id="binary-tag"),
        pytest.param(
            "a:\n  <<: {b: 1}\n", 2, 3, "merge keys ('<<') are not allowed", id="merge-key"
        ),
        pytest.param(
            "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
            1,
            MAX_DEPTH + 3,
            f"YAML nested deeper than {MAX_DEPTH} levels is not allowed",
            id="deep-nesting",
        ),
        pytest.param(
            "a: b\n c: d\n", 2, 3, "invalid YAML: mapping values are not allowed", id="syntax"
        ),
        pytest.param("a:\n\tb: c\n", 2, 1, "invalid YAML: found character '\\t'", id="tab"),
        pytest.param(
            "a: b\x07c\n", 1, 5, "control character 0x07 is not allowed", id="control-char"
        ),
        pytest.param(b"a: \xff\xfe\n", 1, 4, "is not UTF-8 text (byte 0xff)", id="not-utf8"),
        pytest.param("? [a, b]\n: c\n", 1, 3, "mapping keys must be plain strings", id="list-key"),
        pytest.param(
            "1: one\n", 1, 1, "mapping keys must be plain strings; quote the key", id="int-key"
        ),
        pytest.param("a: !!int 12x\n", 1, 4, "'12x' is not a valid int", id="bad-int"),
        pytest.param("a: " + "9" * 5000 + "\n", 1, 4, "is not a valid int", id="huge-int"),
    ],
)
def test_hostile_yaml_is_one_located_error(
    tmp_path: Path, content: str | bytes, line: int, col: int, fragment: str
) -> None:
    result = load_text(tmp_path, content)

    got_line, got_col, message = only_error(result)
    assert fragment in message
    assert (got_line, got_col) == (line, col)
    assert not (tmp_path / "pwned").exists()
    path = str(tmp_path / "m.yaml")
    code, report = validate(path)
    assert (code, located(report)) == (1, [(path, line, message)])


def test_oversized_manifest_is_refused_unread(tmp_path: Path) -> None:
    content = "# padding\n" * (MAX_MANIFEST_BYTES // 10 + 1)

    line, col, message = only_error(load_text(tmp_path, content))

    assert (line, col) == (1, 1)
    assert f"is {len(content):,} bytes, over the limit of {MAX_MANIFEST_BYTES:,} bytes" in message


def test_documents_before_a_syntax_error_are_still_checked(tmp_path: Path) -> None:
    content = PROJECT.replace("ip_name: Lora", "ip_nam: Lora") + "---\nkind: [\n"

    result = load_text(tmp_path, content)

    messages = [(d.line, d.message) for d in result.errors]
    assert (8, "unknown field 'ip_nam' in spec of project 'lora' (did you mean 'ip_name'?)") in (
        messages
    )
    assert any(line == 12 and m.startswith("invalid YAML") for line, m in messages)


def test_syntax_error_does_not_cascade_into_undeclared_references(tmp_path: Path) -> None:
    """The project's file is broken, so "dataset refers to undeclared project" would be noise."""
    make_repo(tmp_path)
    (tmp_path / "a.yaml").write_text(PROJECT + "oops: [\n")
    (tmp_path / "b.yaml").write_text(
        "apiVersion: tailored-gen/v1\nkind: Dataset\n"
        "metadata: {name: d, project: lora}\nspec: {images: imgs}\n"
    )
    (tmp_path / "imgs").mkdir()

    result = load_manifests([str(tmp_path)])

    messages = [d.message for d in result.errors]
    assert not any("which no manifest declares" in m for m in messages), messages
    assert any(m.startswith("invalid YAML") for m in messages)


def test_messages_escape_control_characters(tmp_path: Path) -> None:
    result = load_text(tmp_path, PROJECT.replace("name: lora", 'name: "\\e[31mred"'))

    (error,) = result.errors
    assert "\x1b" not in str(error)
    assert "'\\x1b[31mred'" in error.message


def test_empty_documents_and_files_are_ignored(tmp_path: Path) -> None:
    result = load_text(tmp_path, "---\n---\n# only a comment\n---\n")

    assert result.diagnostics == ()
    assert result.ok


# ---------------------------------------------------------------- properties

_settings = settings(
    max_examples=FUZZ_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_keys = st.sampled_from(
    ["apiVersion", "kind", "metadata", "spec", "name", "project", "images", "captions",
     "dataset", "training_version", "ip_type", "ip_medium", "ip_name", "delete", "status", "x"]
)  # fmt: skip
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["tailored-gen/v1", "Project", "Dataset", "Model", "lora", "images", "max"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=20,
)


def _never_raises(tmp_path: Path, content: bytes) -> None:
    result = load_text(tmp_path, content)
    assert isinstance(result, LoadResult)
    for diagnostic in result.diagnostics:
        assert diagnostic.file == str(tmp_path / "m.yaml")
        assert diagnostic.line >= 1 and diagnostic.col >= 1
        assert diagnostic.message


@_settings
@given(content=st.binary(max_size=400))
def test_random_bytes_never_crash_the_loader(tmp_path: Path, content: bytes) -> None:
    _never_raises(tmp_path, content)


@_settings
@given(documents=st.lists(_values, min_size=1, max_size=3))
def test_random_yaml_never_crashes_the_loader(tmp_path: Path, documents: list[object]) -> None:
    _never_raises(tmp_path, yaml.safe_dump_all(documents).encode("utf-8"))


@_settings
@given(data=st.data())
def test_mutated_example_never_crashes_the_loader(tmp_path: Path, data: st.DataObject) -> None:
    """Random edits of a real manifest: cut, duplicate or garble lines."""
    lines = (EXAMPLES / "lora" / "lora.yaml").read_text().splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["cut", "dup", "garble", "indent"]))
        if action == "cut":
            del lines[at]
        elif action == "dup":
            lines.insert(at, lines[at])
        elif action == "indent":
            lines[at] = "  " + lines[at]
        else:
            lines[at] = data.draw(st.text(max_size=30)) + "\n"
        if not lines:
            break
    (tmp_path / "images").mkdir(exist_ok=True)
    _never_raises(tmp_path, "".join(lines).encode("utf-8", "surrogatepass"))
