"""Validate the style judge against the eye (issue #18): the tables and sheets of docs/judge/.

On photos of the shared data set that are NOT in resources/photos (the training set: faces,
skies, night scenes), score our built-ins against the peer's matching multistyle26 styles and,
with ``--pair``, two models trained with the same recipe. Writes one contact sheet per
comparison (rows: photo | models... | painting, each tile from the evaluated image) and prints
markdown tables: the judge per model, and the artefact checks. ``--builtins`` scores every
built-in against its own painting instead (the issue's "old" column).

    python scripts/validate_judge.py --pair runs/judge2/starry-johnson/starry-johnson.onnx \\
        runs/judge2/starry-seed-tiny/starry-seed-tiny.onnx
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

import numpy as np

from engine.io.images import load_image, save_image
from engine.training.data import resize_short_side
from engine.training.evaluate import EvalResult, evaluate_models, load_model, load_photos

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
# Our built-in -> the peer's style index, matched by eye on its 26-style contact sheet.
PEER = {"starry-night": 19, "great-wave": 24, "cafe-terrace": 7}
# Unseen photos (not in resources/photos): faces, blue skies, night and dark scenes, reds.
PHOTOS = ("matplotlib-grace-hopper", "skimage-astronaut", "gcompris-details-tour-eiffel",
          "gcompris-monument-statueof-liberty", "gcompris-monument-taj-mahal",
          "palapeli-cincinnati-bridge", "plasma-evening-glow", "skimage-coffee",
          "plasma-darkest-hour", "gcompris-erase-macaque")
TILE = 200  # px, short side of a sheet tile


def painting_of(style: str) -> Path:
    """The painting a built-in was trained on, from its recipe."""
    recipe = tomllib.loads((REPO / "resources" / "styles" / "recipes" / f"{style}.toml")
                           .read_text())
    return DATA / "styles" / recipe["painting"]["file"]


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
    rows = [np.concatenate([_tile(rgb), *(_tile(s(rgb)) for s in stylizers), art], 1)
            for rgb in load_photos(photos, size)]
    save_image(out, np.concatenate(rows, 0), quality=85)


def judge_row(label: str, r: EvalResult) -> str:
    layers = " / ".join(f"{v:.3f}" for v in r.style_layers.values())
    return (f"| {label} | `{r.model}` | {r.style_distance:.3f} | {r.style_distance_rel:.3f} | "
            f"{layers} | {r.style_loss_rel:.3f} | {r.structure:.3f} | {r.ssim:.3f} |")


def checks_row(r: EvalResult) -> str:
    edge = max((k for k in r.checks if k.startswith("edge_")), key=lambda k: abs(r.checks[k]))
    cells = [f"{r.checks[k]:.2f} ({r.seen[k]})" for k in
             ("grid", "ovals", "black_lift", "skin_off", "red_kept", "contrast")]
    return (f"| `{r.model}` | " + " | ".join(cells) + f" | {edge[5:]} {r.checks[edge]:+.1f} "
            f"({r.seen[edge]}) | {r.nearest} {r.nearest_difference:.1f} |")


JUDGE_HEADER = ("| comparison | model | judge | judge/photo | relu3_1 / relu4_1 / relu5_1 / colour "
                "| Gram/photo | structure | SSIM |\n|---|---|---|---|---|---|---|---|")
CHECKS_HEADER = ("| model | grid | ovals | black lift | skin blue/green | reds kept | contrast | "
                 "edge line | most alike |\n|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=len(PHOTOS), help="how many of PHOTOS")
    parser.add_argument("--size", type=int, default=512, help="photo short side (eval default)")
    parser.add_argument("--pair", nargs=2, metavar=("JOHNSON", "SEED_TINY"),
                        help="two Starry Night models trained with the same recipe")
    parser.add_argument("--styles", nargs="*", choices=list(PEER), default=list(PEER),
                        help="built-ins to compare with the peer (none: only --pair)")
    parser.add_argument("--builtins", action="store_true",
                        help="score every built-in against its own painting, nothing else")
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "judge")
    args = parser.parse_args()
    photos = [DATA / "content" / f"{name}.jpg" for name in PHOTOS[:args.photos]]
    if args.builtins:
        styles = sorted(p.stem for p in (REPO / "resources" / "styles").glob("*.onnx"))
        comparisons = [(s, painting_of(s), [s]) for s in styles]
    else:
        comparisons = [(s, painting_of(s), [s, f"multistyle26:{PEER[s]}"]) for s in args.styles]
    if args.pair:
        comparisons.append(("johnson-vs-seed-tiny", painting_of("starry-night"), args.pair))
    print(JUDGE_HEADER)
    results = []
    for name, painting, models in comparisons:
        for r in evaluate_models(models, photos, painting, size=args.size):
            print(judge_row(name, r), flush=True)
            results.append((name, r))
        if not args.builtins:
            contact_sheet(photos[:4], models, painting, args.size, args.out / f"{name}.jpg")
    print(f"\n{CHECKS_HEADER}")
    for _, r in results:
        print(checks_row(r))
    if args.json:
        args.json.write_text(json.dumps([{"comparison": n, **r.to_dict()} for n, r in results]))


if __name__ == "__main__":
    main()
