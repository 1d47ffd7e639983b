"""`tinystyle eval`: score style models on photos (judge style distance and structure, SSIM,
and the training's Gram and content losses for comparison)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = (  # (header, EvalResult field, format)
    ("judge", "style_distance", ".4f"),
    ("/photo", "style_distance_rel", ".3f"),
    ("struct", "structure", ".3f"),
    ("ssim", "ssim", ".3f"),
    ("gram", "style_loss", ".4g"),
    ("/photo", "style_loss_rel", ".3f"),
    ("content", "content_loss", ".4g"),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="score style models on photos",
        description="Per model, means over the photos: the judge's style distance to the "
                    "painting (sliced Wasserstein on VGG relu3_1..relu5_1, painting at the "
                    "output's scale) and its deep-structure similarity to the photo (1 = same "
                    "layout), luminance SSIM to the photo, and the training's Gram style and "
                    "relu2_2 content losses. '/photo' columns divide by the unstyled photo's "
                    "distance (below 1: closer to the painting than the photo is).")
    p.add_argument("models", metavar="MODEL", nargs="+",
                   help="style names, .onnx files, or multistyle26:<index> (the peer's styles)")
    p.add_argument("--content", type=Path, required=True, help="folder of photos")
    p.add_argument("--style", type=Path, required=True, help="the painting the models imitate")
    p.add_argument("--size", type=int, default=256, help="photo short side in px (default 256)")
    p.add_argument("--limit", type=int, help="use at most this many photos")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.training.evaluate import evaluate_models

    results = evaluate_models(args.models, args.content, args.style, size=args.size,
                              limit=args.limit)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    width = max(len(r.model) for r in results)
    print(f"{'model':<{width}}  " + "  ".join(f"{h:>8}" for h, _, _ in COLUMNS) + "  images")
    for r in results:
        values = "  ".join(f"{getattr(r, field):>8{fmt}}" for _, field, fmt in COLUMNS)
        print(f"{r.model:<{width}}  {values}  {r.images}")
    return 0
