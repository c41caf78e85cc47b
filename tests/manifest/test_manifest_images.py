"""Image folders: where they may point, what counts as an image, captions, and hostile files.

Every case builds a real repository in tmp_path with real encoded images and checks the exact
diagnostic at the `spec.images` line (line 7 of the dataset document below, or the captions
key for caption problems).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PIL import Image
from test_manifest_support import (
    PROJECT,
    add_images,
    image_bytes,
    located,
    make_repo,
    png_header_only,
    validate,
    write,
)

from reconciler.manifest import LoadResult, load_manifests
from reconciler.manifest.image_probe import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS

IMAGES_LINE = 17  # `images:` in the dataset below, after PROJECT (9 lines) and `---`


def dataset(images: str = "images", extra: str = "", models: str = "") -> str:
    return (
        PROJECT
        + "---\n"
        + "apiVersion: tailored-gen/v1\nkind: Dataset\nmetadata:\n  name: lora-v1\n"
        + f"  project: lora\nspec:\n  images: {images}\n{extra}"
        + "".join(
            f"---\napiVersion: tailored-gen/v1\nkind: Model\nmetadata:\n  name: m-{v}\n"
            f"  project: lora\nspec:\n  dataset: lora-v1\n  training_version: {v}\n"
            for v in models.split()
        )
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(repo: Path, text: str | None = None, manifest: str = "m.yaml") -> LoadResult:
    write(repo / manifest, text if text is not None else dataset())
    return load_manifests([manifest])


def messages(result: LoadResult, severity: str = "error") -> list[tuple[int, str]]:
    return [(d.line, d.message) for d in result.diagnostics if d.severity == severity]


def test_a_valid_folder_becomes_desired_images(repo: Path) -> None:
    paths = add_images(repo / "images", 2) + add_images(repo / "images", 1, "j", fmt="JPEG")
    paths += add_images(repo / "images", 1, "w", fmt="WEBP")

    result = load(repo)

    assert result.diagnostics == ()
    (ds,) = result.state.datasets
    assert [i.file_name for i in ds.images] == [
        "img-001.png",
        "img-002.png",
        "j-001.jpg",
        "w-001.webp",
    ]
    first = ds.images[0]
    assert first.path == str(paths[0].resolve())
    assert first.size == paths[0].stat().st_size
    assert first.digest == hashlib.sha256(paths[0].read_bytes()).hexdigest()


def test_caption_precedence_manifest_then_sidecar_then_automatic(repo: Path) -> None:
    add_images(repo / "images", 3)
    (repo / "images" / "img-001.txt").write_text("from the sidecar, ignored\n")
    (repo / "images" / "img-002.txt").write_text("  a sidecar caption  \n")
    extra = "  captions:\n    img-001.png: from the manifest\n"

    result = load(repo, dataset(extra=extra))

    assert result.diagnostics == ()
    captions = [(i.caption, i.caption_origin) for i in result.state.datasets[0].images]
    assert captions == [
        ("from the manifest", "manifest"),
        ("a sidecar caption", "sidecar"),
        (None, None),
    ]


@pytest.mark.parametrize(
    ("images", "setup", "fragment"),
    [
        ("imagez", "images", "image folder 'imagez' does not exist (did you mean 'images'?)"),
        ("/etc", "", "image folder '/etc' must be relative to the manifest file, not absolute"),
        ("../outside", "../outside", "(it climbs out of it with '..'); keep images inside"),
        (
            "linked",
            "link:../outside",
            "(it leaves it by a link); keep images inside the repository",
        ),
        ("file.png", "file", "image folder 'file.png' is not a folder"),
        ("empty", "empty", "dataset 'lora-v1' has no images; a dataset needs 1-200 jpeg, png"),
    ],
    ids=["missing", "absolute", "dotdot", "symlink", "not-a-folder", "empty"],
)
def test_folder_problems(repo: Path, images: str, setup: str, fragment: str) -> None:
    outside = repo.parent / f"{repo.name}-outside"
    add_images(outside, 1)
    if setup == "images":
        add_images(repo / "images", 1)
    elif setup.startswith("link:"):
        (repo / "linked").symlink_to(outside)
    elif setup == "../outside":
        images = f"../{outside.name}"
    elif setup == "file":
        (repo / "file.png").write_bytes(image_bytes())
    elif setup == "empty":
        (repo / "empty").mkdir()

    result = load(repo, dataset(images=images))

    assert [line for line, _ in messages(result)] == [IMAGES_LINE]
    assert fragment in messages(result)[0][1]


def test_dotdot_inside_the_repository_is_fine(repo: Path) -> None:
    add_images(repo / "shared" / "pics", 1)

    result = load(repo, dataset(images="../shared/pics"), manifest="sub/m.yaml")

    assert result.diagnostics == ()


def test_folder_outside_git_is_bounded_by_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a git work tree the current directory is the repository."""
    work = tmp_path / "work"
    add_images(tmp_path / "elsewhere", 1)
    write(work / "m.yaml", dataset(images="../elsewhere"))
    monkeypatch.chdir(work)

    result = load_manifests(["m.yaml"])

    assert messages(result) == [
        (
            IMAGES_LINE,
            f"image folder '../elsewhere' is outside the repository '{work.resolve()}' (it climbs "
            "out of it with '..'); keep images inside the repository",
        )
    ]


def test_symlinked_file_escaping_the_repository(repo: Path) -> None:
    add_images(repo / "images", 1)
    secret = repo.parent / f"{repo.name}-secret.png"
    secret.write_bytes(image_bytes())
    (repo / "images" / "evil.png").symlink_to(secret)

    result = load(repo)

    assert messages(result) == [
        (
            IMAGES_LINE,
            f"file 'evil.png' in 'images' is a link to '{secret.resolve()}', "
            "outside the repository",
        )
    ]
    assert [i.file_name for i in result.state.datasets[0].images] == ["img-001.png"]


def _write(folder: Path, name: str, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


def _big_sparse(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)


def _truncated() -> bytes:
    data = image_bytes(fmt="PNG")
    return data[: len(data) // 2]


def _gif(path: Path) -> None:
    Image.new("RGB", (1024, 1024)).save(path, format="GIF")


BAD_FILES = {
    "zero-bytes": ("zero.png", lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    "over-12mb": (
        "big.png",
        lambda p: _big_sparse(p, MAX_IMAGE_BYTES + 1),
        "is 12.0 MB (12,000,001 bytes); Bria accepts at most 12 MB (12,000,000 bytes) per image",
    ),
    "12-mebibytes": (
        "big.png",
        lambda p: _big_sparse(p, 12 * 1024 * 1024),
        "is 12.6 MB (12,582,912 bytes); Bria accepts at most 12 MB (12,000,000 bytes) per image",
    ),
    "truncated": ("cut.png", lambda p: p.write_bytes(_truncated()), "could not be decoded ("),
    "text": (
        "text.png",
        lambda p: p.write_text("hello, not an image\n"),
        "is not a jpeg, png or webp image (its content looks like text)",
    ),
    "gif": ("anim.gif", _gif, "(its content looks like a GIF image)"),
    "too-small": (
        "small.png",
        lambda p: p.write_bytes(image_bytes(size=(1024, 800))),
        "is 1024x800 pixels; Bria needs at least 1024x1024",
    ),
    "decompression-bomb": (
        "bomb.png",
        lambda p: p.write_bytes(png_header_only(7000, 7000)),
        f"has too many pixels (7000x7000 pixels); images over {MAX_IMAGE_PIXELS:,} pixels "
        "are refused unread",
    ),
    "pillow-bomb-guard": (
        "huge.png",
        lambda p: p.write_bytes(png_header_only(30000, 30000)),
        "has too many pixels; images over",
    ),
    "random-bytes": (
        "noise.png",
        lambda p: p.write_bytes(os.urandom(2048)),
        "is not a jpeg, png or webp image",
    ),
}


@pytest.mark.parametrize(
    ("name", "make", "fragment"), list(BAD_FILES.values()), ids=list(BAD_FILES)
)
def test_bad_image_files(repo: Path, name: str, make: object, fragment: str) -> None:
    add_images(repo / "images", 1)
    assert callable(make)
    make(repo / "images" / name)

    result = load(repo)

    errors = messages(result)
    assert len(errors) == 1, errors
    assert errors[0][0] == IMAGES_LINE
    assert errors[0][1].startswith(f"image '{name}' in 'images' ")
    assert fragment in errors[0][1]
    assert [i.file_name for i in result.state.datasets[0].images] == ["img-001.png"]
    code, report = validate("m.yaml")
    assert (code, located(report)) == (1, [("m.yaml", IMAGES_LINE, errors[0][1])])


def test_warnings_extension_transparency_duplicates_orphan_sidecar(repo: Path) -> None:
    add_images(repo / "images", 1)
    folder = repo / "images"
    _write(folder, "photo.png", image_bytes(fmt="JPEG"))
    _write(folder, "clear.png", image_bytes(mode="RGBA", alpha=128))
    _write(folder, "opaque.png", image_bytes(mode="RGBA", alpha=255))
    (folder / "copy.png").write_bytes((folder / "img-001.png").read_bytes())
    (folder / "lonely.txt").write_text("a caption for nobody")

    result = load(repo)

    assert messages(result) == []
    assert [m for _, m in messages(result, "warning")] == [
        "caption file 'lonely.txt' in 'images' matches no image",
        "image 'clear.png' in 'images' has transparency, which Bria turns black; "
        "flatten it onto a background",
        "image 'photo.png' in 'images' is really a jpeg file; rename it to 'photo.jpg'",
        "images 'copy.png', 'img-001.png' have identical content; "
        "Bria would train on the same picture more than once",
    ]
    assert {line for line, _ in messages(result, "warning")} == {IMAGES_LINE}


def test_caption_for_a_missing_file(repo: Path) -> None:
    add_images(repo / "images", 2)
    extra = "  captions:\n    img-001.png: fine\n    img-003.png: no such file\n"

    result = load(repo, dataset(extra=extra))

    assert messages(result) == [
        (
            IMAGES_LINE + 3,
            "caption given for 'img-003.png', but 'images' has no such image "
            "(did you mean 'img-002.png'?)",
        )
    ]


def test_hidden_files_subfolders_and_sidecars_are_not_images(repo: Path) -> None:
    add_images(repo / "images", 2)
    add_images(repo / "images" / "nested", 3)
    (repo / "images" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (repo / "images" / "img-001.txt").write_text("caption")

    result = load(repo)

    assert result.diagnostics == ()
    assert [i.file_name for i in result.state.datasets[0].images] == ["img-001.png", "img-002.png"]


def test_special_files_and_bad_names_are_refused(repo: Path) -> None:
    add_images(repo / "images", 1)
    os.mkfifo(repo / "images" / "pipe.png")
    (repo / "images" / "bell\x07.png").write_bytes(image_bytes())

    result = load(repo)

    assert messages(result) == [
        (
            IMAGES_LINE,
            "file 'bell\\x07.png' in 'images' has a control character or non-UTF-8 name; rename it",
        ),
        (IMAGES_LINE, "file 'pipe.png' in 'images' is not a regular file"),
    ]


LIGHT_FEW = "15-100 are recommended for light models (used by 'm-light')"
MAX_FEW = "5-50 are recommended for max models (used by 'm-max')"


@pytest.mark.parametrize(
    ("count", "models", "expected"),
    [
        pytest.param(3, "light", [f"dataset 'lora-v1' has 3 images; {LIGHT_FEW}"], id="light-few"),
        pytest.param(3, "max", [f"dataset 'lora-v1' has 3 images; {MAX_FEW}"], id="max-few"),
        pytest.param(10, "light max", [f"dataset 'lora-v1' has 10 images; {LIGHT_FEW}"], id="both"),
        pytest.param(15, "light max", [], id="both-ok"),
        pytest.param(3, "", [], id="no-models"),
    ],
)
def test_recommended_image_counts(repo: Path, count: int, models: str, expected: list[str]) -> None:
    add_images(repo / "images", count)

    result = load(repo, dataset(models=models))

    assert messages(result) == []
    assert messages(result, "warning") == [(IMAGES_LINE, m) for m in expected]


def test_more_than_200_images_is_an_error(repo: Path) -> None:
    folder = repo / "images"
    add_images(folder, 1)
    template = (folder / "img-001.png").read_bytes()
    for i in range(2, 202):  # identical bytes are fine here: only the count matters
        (folder / f"img-{i:03d}.png").write_bytes(template)

    result = load(repo)

    errors = messages(result)
    assert errors == [
        (
            IMAGES_LINE,
            "dataset 'lora-v1' has 201 images; Bria accepts at most 200 per dataset; "
            "split it or remove some",
        )
    ]


def test_deleted_dataset_folder_is_not_read(repo: Path) -> None:
    text = dataset(images="gone").replace("  project: lora\n", "  project: lora\n  delete: true\n")

    result = load(repo, text)

    assert result.diagnostics == ()
    assert result.state.datasets[0].delete is True
    assert result.state.datasets[0].images == ()
