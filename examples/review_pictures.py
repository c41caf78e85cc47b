"""Makes the README's pictures of a review: the HTML plan (a Chromium screenshot), the PR comment.

    python examples/review_pictures.py

Copies examples/manifests into a temporary folder, applies it to the embedded emulator, then
edits Lora's dataset the way a design team would (pulls Bria's captions into sidecars and
rewrites one, rewords another, adds an image, drops one), and writes from the real
`reconciler plan`:

* docs/images/plan-html.png: the `--format html` page in headless Chromium at 1280 px wide
  (Debian's `chromium` package; nothing is fetched);
* docs/images/plan-comment.md: the `--format markdown` PR comment, also quoted into README.md
  between its `plan-comment` markers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def reconciler(cwd: Path, *args: str) -> str:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args, "--emulator"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 2):
        raise SystemExit(f"reconciler {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def edit_like_a_design_team(manifests: Path) -> None:
    lora = manifests / "lora" / "images"
    mirrored = ImageOps.mirror(Image.open(lora / "lora-05.png").convert("RGB"))
    mirrored.save(lora / "lora-21.png")  # a new pose
    (lora / "lora-20.jpg").unlink()  # dropped from the set
    (lora / "lora-07.txt").write_text(
        "Lora reading a book under a tree, soft afternoon light\n", encoding="utf-8"
    )
    pulled = (lora / "lora-14.txt").read_text(encoding="utf-8")  # Bria's automatic caption
    (lora / "lora-14.txt").write_text(
        pulled.replace("Lora,", "Lora, smiling,", 1).rstrip(" .\n") + ", holding a kite.\n",
        encoding="utf-8",
    )


def screenshot(page: Path, target: Path, height: int = 1900) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("needs Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size=1280,{height}",
                f"--screenshot={target}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    picture = Image.open(target).convert("RGB")
    picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def embed_in_readme(comment: str) -> None:
    """Quote the comment into README.md between the plan-comment markers."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start = text.index("<!-- plan-comment:start")
    start = text.index("\n", start) + 1
    end = text.index("<!-- plan-comment:end -->")
    quoted = "".join(f"> {line}".rstrip() + "\n" for line in comment.rstrip("\n").split("\n"))
    readme.write_text(text[:start] + quoted + text[end:], encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reconciler-review-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "examples" / "manifests", work / "manifests")
        reconciler(work, "apply", "manifests", "--auto-approve")
        reconciler(work, "captions", "pull", "manifests", "--dataset", "lora/lora-v1")
        edit_like_a_design_team(work / "manifests")
        page = work / "plan.html"
        page.write_text(reconciler(work, "plan", "manifests", "--format", "html"), "utf-8")
        screenshot(page, OUT / "plan-html.png")
        comment = reconciler(work, "plan", "manifests", "--format", "markdown")
        (OUT / "plan-comment.md").write_text(comment, encoding="utf-8")
        embed_in_readme(comment)
    print(f"wrote {OUT / 'plan-html.png'} and {OUT / 'plan-comment.md'}")


if __name__ == "__main__":
    main()
