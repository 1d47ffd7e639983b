"""`tinystyle eval`: score style models on photos (style loss, content loss, SSIM)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score style models on photos",
                       description="Per model: mean style and content loss (the training VGG "
                                   "layers, unweighted) and mean luminance SSIM to the photo.")
    p.add_argument("models", metavar="MODEL", nargs="+", help="style names or .onnx files")
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
    print(f"{'model':<{width}}  {'style':>10}  {'content':>10}  {'ssim':>6}  images")
    for r in results:
        print(f"{r.model:<{width}}  {r.style_loss:>10.4g}  {r.content_loss:>10.4g}  "
              f"{r.ssim:>6.3f}  {r.images}")
    return 0
