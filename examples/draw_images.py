"""Draws the example training images procedurally, so the examples need no real artwork.

    python examples/draw_images.py

writes `examples/manifests/lora/images/lora-NN.png|jpg` (a purple-haired character in 20 poses
and scenes) and `examples/manifests/acme-icons/images/*.png` (17 flat icons). Everything is
seeded, so a re-run draws the same pictures. Flat colours and a 16-colour palette keep each
1024x1024 PNG at about 5 KB (the JPEGs at about 25 KB). The caption sidecars (`*.txt`) are
written by hand and left alone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

SIDE = 1024
HERE = Path(__file__).resolve().parent / "manifests"
Color = tuple[int, int, int]

SKIES: list[Color] = [(250, 214, 165), (180, 220, 245), (255, 236, 200), (200, 230, 201)]
GROUNDS: list[Color] = [(120, 170, 90), (232, 200, 140), (90, 130, 170), (150, 120, 100)]
DRESSES: list[Color] = [(240, 190, 60), (70, 150, 210), (230, 90, 90), (250, 250, 250)]
HAIR: Color = (128, 60, 170)
SKIN: Color = (250, 220, 195)
INK: Color = (40, 30, 50)
LORA_PNGS = 16  # lora-01..16 are PNG, lora-17..20 JPEG


def save(image: Image.Image, path: Path) -> None:
    """PNG through a 16-colour palette; JPEG (for `.jpg`) at a quality that keeps edges clean."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        image.save(path, format="JPEG", quality=80, optimize=True)
    else:
        palette = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        palette.save(path, format="PNG", optimize=True)


# ---------------------------------------------------------------- the character "Lora"


def draw_lora(index: int) -> Image.Image:
    rng = random.Random(1000 + index)
    image = Image.new("RGB", (SIDE, SIDE), SKIES[index % len(SKIES)])
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(600, 760)
    draw.rectangle((0, horizon, SIDE, SIDE), fill=GROUNDS[(index // 4) % len(GROUNDS)])
    sun_x = rng.randint(80, 940)
    draw.ellipse((sun_x - 60, 60, sun_x + 60, 180), fill=(255, 245, 170))
    for _ in range(rng.randint(1, 3)):  # a few hills or dunes behind her
        x = rng.randint(0, SIDE)
        r = rng.randint(120, 260)
        draw.pieslice(
            (x - r, horizon - r // 2, x + r, horizon + r // 2), 180, 360, fill=(100, 150, 80)
        )

    scale = rng.uniform(0.8, 1.05)
    cx = rng.randint(360, 664)
    feet = horizon + rng.randint(40, 180)

    def s(value: float) -> int:
        return round(value * scale)

    head_y = feet - s(560)
    # long purple hair behind everything else
    draw.ellipse((cx - s(150), head_y - s(130), cx + s(150), head_y + s(230)), fill=HAIR)
    # legs and dress
    draw.line((cx - s(40), feet - s(180), cx - s(50), feet), fill=INK, width=s(26))
    draw.line((cx + s(40), feet - s(180), cx + s(50), feet), fill=INK, width=s(26))
    dress = DRESSES[index % len(DRESSES)]
    draw.polygon(
        [
            (cx - s(70), head_y + s(160)),
            (cx + s(70), head_y + s(160)),
            (cx + s(150), feet - s(160)),
            (cx - s(150), feet - s(160)),
        ],
        fill=dress,
    )
    # arms: the pose changes with the picture
    for side in (-1, 1):
        angle = math.radians(rng.choice([-60, -20, 20, 60, 110]))
        shoulder = (cx + side * s(70), head_y + s(190))
        hand = (
            shoulder[0] + side * s(170) * math.cos(angle),
            shoulder[1] - s(170) * math.sin(angle),
        )
        draw.line((*shoulder, *hand), fill=SKIN, width=s(24))
        draw.ellipse(
            (hand[0] - s(18), hand[1] - s(18), hand[0] + s(18), hand[1] + s(18)), fill=SKIN
        )
    # the face, then the fringe
    draw.ellipse((cx - s(100), head_y - s(100), cx + s(100), head_y + s(120)), fill=SKIN)
    draw.chord((cx - s(110), head_y - s(130), cx + s(110), head_y + s(40)), 180, 360, fill=HAIR)
    look = rng.randint(-12, 12)
    for eye in (-1, 1):
        ex = cx + eye * s(40) + look
        draw.ellipse((ex - s(12), head_y + s(10), ex + s(12), head_y + s(36)), fill=INK)
    draw.arc(
        (cx - s(36), head_y + s(40), cx + s(36), head_y + s(84)), 20, 160, fill=INK, width=s(6)
    )
    return image


# ---------------------------------------------------------------- ACME's icon set


def _star(d: ImageDraw.ImageDraw, c: Color) -> None:
    points = []
    for i in range(10):
        r = 300 if i % 2 == 0 else 130
        a = math.radians(-90 + i * 36)
        points.append((512 + r * math.cos(a), 512 + r * math.sin(a)))
    d.polygon(points, fill=c)


def _heart(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.ellipse((232, 280, 522, 570), fill=c)
    d.ellipse((502, 280, 792, 570), fill=c)
    d.polygon([(250, 480), (774, 480), (512, 800)], fill=c)


def _house(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.polygon([(212, 500), (512, 220), (812, 500)], fill=c)
    d.rectangle((292, 500, 732, 800), fill=c)
    d.rectangle((462, 620, 562, 800), fill=(255, 255, 255))


def _gear(d: ImageDraw.ImageDraw, c: Color) -> None:
    for i in range(8):
        a = math.radians(i * 45)
        x, y = 512 + 270 * math.cos(a), 512 + 270 * math.sin(a)
        d.ellipse((x - 70, y - 70, x + 70, y + 70), fill=c)
    d.ellipse((272, 272, 752, 752), fill=c)
    d.ellipse((422, 422, 602, 602), fill=(255, 255, 255))


def _cloud(d: ImageDraw.ImageDraw, c: Color) -> None:
    for box in ((220, 450, 500, 730), (380, 300, 700, 620), (560, 430, 820, 700)):
        d.ellipse(box, fill=c)
    d.rectangle((360, 560, 690, 730), fill=c)


def _bolt(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.polygon([(560, 180), (300, 560), (490, 560), (430, 850), (730, 430), (540, 430)], fill=c)


def _check(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.line((250, 520, 440, 720, 790, 310), fill=c, width=110, joint="curve")


def _magnifier(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.ellipse((220, 220, 620, 620), outline=c, width=70)
    d.line((580, 580, 820, 820), fill=c, width=100)


def _bell(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.chord((282, 220, 742, 760), 180, 360, fill=c)
    d.rectangle((282, 490, 742, 700), fill=c)
    d.rectangle((222, 680, 802, 740), fill=c)
    d.ellipse((462, 740, 562, 840), fill=c)


def _lock(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.arc((332, 200, 692, 560), 180, 360, fill=c, width=70)
    d.line((367, 380, 367, 480), fill=c, width=70)
    d.line((657, 380, 657, 480), fill=c, width=70)
    d.rounded_rectangle((262, 460, 762, 820), radius=40, fill=c)


def _envelope(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.rectangle((202, 300, 822, 724), fill=c)
    d.line((202, 300, 512, 560, 822, 300), fill=(255, 255, 255), width=40)


def _camera(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.rounded_rectangle((192, 340, 832, 760), radius=60, fill=c)
    d.rectangle((392, 260, 632, 360), fill=c)
    d.ellipse((382, 420, 642, 680), fill=(255, 255, 255))
    d.ellipse((442, 480, 582, 620), fill=c)


def _note(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.ellipse((262, 620, 462, 780), fill=c)
    d.ellipse((562, 560, 762, 720), fill=c)
    d.rectangle((422, 240, 462, 700), fill=c)
    d.rectangle((722, 180, 762, 640), fill=c)
    d.polygon([(422, 240), (762, 180), (762, 280), (422, 340)], fill=c)


def _leaf(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.chord((200, 200, 824, 824), 315, 135, fill=c)
    d.chord((200, 200, 824, 824), 135, 315, fill=c)
    d.line((260, 764, 764, 260), fill=(255, 255, 255), width=24)


def _drop(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.ellipse((302, 420, 722, 840), fill=c)
    d.polygon([(512, 170), (318, 560), (706, 560)], fill=c)


def _flag(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.rectangle((262, 180, 312, 860), fill=c)
    d.polygon([(312, 200), (782, 320), (312, 500)], fill=c)


def _chat(d: ImageDraw.ImageDraw, c: Color) -> None:
    d.rounded_rectangle((192, 232, 832, 652), radius=80, fill=c)
    d.polygon([(332, 640), (462, 640), (300, 820)], fill=c)
    for x in (352, 512, 672):
        d.ellipse((x - 40, 402, x + 40, 482), fill=(255, 255, 255))


ICONS: dict[str, Callable[[ImageDraw.ImageDraw, Color], None]] = {
    "star": _star,
    "heart": _heart,
    "house": _house,
    "gear": _gear,
    "cloud": _cloud,
    "bolt": _bolt,
    "check": _check,
    "magnifier": _magnifier,
    "bell": _bell,
    "lock": _lock,
    "envelope": _envelope,
    "camera": _camera,
    "note": _note,
    "leaf": _leaf,
    "drop": _drop,
    "flag": _flag,
    "chat": _chat,
}
ACME_TILES: list[Color] = [(255, 112, 67), (38, 166, 154), (92, 107, 192), (255, 202, 40)]


def draw_icon(index: int, glyph: Callable[[ImageDraw.ImageDraw, Color], None]) -> Image.Image:
    image = Image.new("RGB", (SIDE, SIDE), (250, 248, 244))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((72, 72, 952, 952), radius=180, fill=ACME_TILES[index % 4])
    glyph(draw, (255, 255, 255))
    return image


def main() -> None:
    for index in range(1, 21):
        extension = "jpg" if index > LORA_PNGS else "png"  # both formats Bria takes
        save(draw_lora(index), HERE / "lora" / "images" / f"lora-{index:02d}.{extension}")
    for index, (name, glyph) in enumerate(ICONS.items()):
        save(draw_icon(index, glyph), HERE / "acme-icons" / "images" / f"{name}.png")


if __name__ == "__main__":
    main()
