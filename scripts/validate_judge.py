"""Validate the style judge against the eye (issue #18): the table and sheets of docs/judge/.

On photos of the shared data set that are NOT in resources/photos (the training set), score our
built-ins against the peer's matching multistyle26 styles, and optionally two models trained
with the same recipe (``--pair johnson.onnx seed-tiny.onnx``), with the judge and the old Gram
loss. Writes one contact sheet per comparison (rows: photo | models... | painting) and prints a
markdown table.

    python scripts/validate_judge.py --pair runs/judge/starry-johnson/starry-johnson.onnx \\
        runs/judge/starry-seed-tiny/starry-seed-tiny.onnx
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from engine.io.images import load_image, save_image
from engine.training.data import resize_short_side
from engine.training.evaluate import EvalResult, evaluate_models, load_model, load_photos

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
# Our built-in -> (painting file, the peer's style index picked by eye from its contact sheet).
PAIRS = {
    "starry-night": ("van-gogh-starry-night.jpg", 19),
    "great-wave": ("hokusai-great-wave.jpg", 24),
    "cafe-terrace": ("van-gogh-cafe-terrace-at-night.jpg", 7),
}
TILE = 200  # px, short side of a sheet tile


def unseen_photos(count: int) -> list[Path]:
    """``count`` photos spread over the shared set, none of them a training photo."""
    bundled = {p.name for p in (REPO / "resources" / "photos").iterdir()}
    unseen = [p for p in sorted((DATA / "content").glob("*.jpg")) if p.name not in bundled]
    return unseen[:: max(1, len(unseen) // count)][:count]


def _tile(rgb: np.ndarray) -> np.ndarray:
    """Centre crop to a TILE x 4/3 TILE landscape tile."""
    x = resize_short_side(rgb, TILE)[0].round().byte().permute(1, 2, 0).numpy()
    w = TILE * 4 // 3
    left = max(0, (x.shape[1] - w) // 2)
    tile = np.full((TILE, w, 3), 255, np.uint8)
    crop = x[:TILE, left:left + w]
    tile[:, :crop.shape[1]] = crop
    return tile


def contact_sheet(photos: list[Path], models: list[str], painting: Path, size: int,
                  out: Path) -> None:
    """Rows of photo | each model's output | painting, stylized at the evaluation size."""
    stylizers = [load_model(m) for m in models]
    art = _tile(load_image(painting).rgb)
    rows = []
    for rgb in load_photos(photos, size):
        rows.append(np.concatenate([_tile(rgb), *(_tile(s(rgb)) for s in stylizers), art], 1))
    save_image(out, np.concatenate(rows, 0), quality=85)


def _row(label: str, r: EvalResult) -> str:
    layers = " / ".join(f"{v:.3f}" for v in r.style_layers.values())
    return (f"| {label} | `{r.model}` | {r.style_distance:.3f} | {r.style_distance_rel:.3f} | "
            f"{layers} | {r.style_loss_rel:.3f} | {r.structure:.3f} | {r.ssim:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=6, help="unseen photos per comparison")
    parser.add_argument("--size", type=int, default=256, help="photo short side (eval default)")
    parser.add_argument("--pair", nargs=2, metavar=("JOHNSON", "SEED_TINY"),
                        help="two Starry Night models trained with the same recipe")
    parser.add_argument("--styles", nargs="*", choices=list(PAIRS), default=list(PAIRS),
                        help="built-ins to compare with the peer (none: only --pair)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "judge")
    args = parser.parse_args()
    photos = unseen_photos(args.photos)
    comparisons = [(name, paint, [name, f"multistyle26:{peer}"])
                   for name, (paint, peer) in PAIRS.items() if name in args.styles]
    if args.pair:
        comparisons.append(("johnson-vs-seed-tiny", PAIRS["starry-night"][0], args.pair))
    print("| comparison | model | judge | judge/photo | relu3_1 / relu4_1 / relu5_1 | "
          "Gram/photo | structure | SSIM |")
    print("|---|---|---|---|---|---|---|---|")
    for name, paint, models in comparisons:
        painting = DATA / "styles" / paint
        for r in evaluate_models(models, photos, painting, size=args.size):
            print(_row(name, r), flush=True)
        contact_sheet(photos[:3], models, painting, args.size, args.out / f"{name}.jpg")


if __name__ == "__main__":
    main()
