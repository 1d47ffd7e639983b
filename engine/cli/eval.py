"""`tinystyle eval`: score style models on photos (judge style distance, progress towards the
painting, texture terms and structure, SSIM,
the artefact checks of issue #18, and the training's Gram and content losses for comparison)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = (  # (header, EvalResult field, format)
    ("judge", "style_distance", ".4f"),
    ("/photo", "style_distance_rel", ".3f"),
    ("toward", "progress", ".3f"),
    ("texture", "texture", ".4f"),
    ("/photo", "texture_rel", ".3f"),
    ("struct", "structure", ".3f"),
    ("ssim", "ssim", ".3f"),
    ("gram", "style_loss", ".4g"),
    ("/photo", "style_loss_rel", ".3f"),
    ("content", "content_loss", ".4g"),
)
CHECK_COLUMNS = (  # (header, check, format): mean over photos, then on how many it fired
    ("grid", "grid", ".2f"),
    ("ovals", "ovals", ".1f"),
    ("black+", "black_lift", ".1f"),
    ("skin-bg", "skin_off", ".2f"),
    ("reds", "red_kept", ".2f"),
    ("contr", "contrast", ".2f"),
)
EDGES = ("edge_top", "edge_bottom", "edge_left", "edge_right")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="score style models on photos",
        description="Per model, means over the photos: the judge's style distance to the "
                    "painting (cosine distance between the style embeddings of Magenta's "
                    "style predictor, each picture seen whole at 256 px; the texture mean "
                    "without the predictor), 'toward': how far the output moved from the "
                    "photo towards the painting in that embedding (0 photo, 1 painting), the "
                    "texture terms (sliced Wasserstein on VGG relu3_1..relu5_1 at the "
                    "best-fitting painting scale, plus CIELAB colours; they see grids and "
                    "outlines, but prefer colour grades to repaints), the deep-structure "
                    "similarity to the photo (1 = same layout), luminance SSIM to the photo, the "
                    "training's Gram style and relu2_2 content losses, and the artefact checks: "
                    "4-px grid energy beyond the photo's, ovals in smooth skies, near-black "
                    "lift, lines along an edge (grey levels), skin turned blue/green, strong "
                    "reds kept, luma contrast over min(photo's, painting's), and the most alike "
                    "other model. '/photo' columns divide by the unstyled photo's distance "
                    "(below 1: closer to the painting than the photo is); '(n)' counts the "
                    "photos on which a check fired.")
    p.add_argument("models", metavar="MODEL", nargs="+",
                   help="style names, .onnx files, or multistyle26:<index> (the peer's styles)")
    p.add_argument("--content", type=Path, required=True, help="folder of photos")
    p.add_argument("--style", type=Path, required=True, help="the painting the models imitate")
    p.add_argument("--size", type=int, default=512,
                   help="photo short side in px, the size models are used at (default 512)")
    p.add_argument("--limit", type=int, help="use at most this many photos")
    p.add_argument("--keep-colours", action="store_true",
                   help="stylize with the app's 'keep colours' (our styles only)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run)


def _edge(checks: dict[str, float], seen: dict[str, int]) -> str:
    """The side with the strongest mean line, e.g. 'top +45.7 (12)'."""
    side = max(EDGES, key=lambda k: abs(checks[k]))
    return f"{side[5:]} {checks[side]:+.1f} ({seen[side]})"


def run(args: argparse.Namespace) -> int:
    from engine.training.evaluate import evaluate_models

    results = evaluate_models(args.models, args.content, args.style, size=args.size,
                              limit=args.limit, keep_colours=args.keep_colours)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    width = max(len(r.model) for r in results)
    print(f"{'model':<{width}}  " + "  ".join(f"{h:>8}" for h, _, _ in COLUMNS) + "  images")
    for r in results:
        values = "  ".join(f"{getattr(r, name):>8{fmt}}" for _, name, fmt in COLUMNS)
        print(f"{r.model:<{width}}  {values}  {r.images}")
    print(f"\nartefacts, mean over photos (n: photos where seen)\n{'model':<{width}}  "
          + "  ".join(f"{h:>12}" for h, _, _ in CHECK_COLUMNS) + "  edge line          alike")
    for r in results:
        values = "  ".join(f"{f'{r.checks[k]:{fmt}} ({r.seen[k]})':>12}"
                           for _, k, fmt in CHECK_COLUMNS)
        alike = f"{r.nearest} {r.nearest_difference:.1f}" if r.nearest else "-"
        print(f"{r.model:<{width}}  {values}  {_edge(r.checks, r.seen):<17}  {alike}")
    return 0
