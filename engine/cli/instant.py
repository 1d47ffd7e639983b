"""`tinystyle instant`: a painting's style for the default network in seconds, no training.

The painting teacher's predictor reads the painting's style vector, the shipped style map
turns it into the network's norm parameters, and those are written into the shipped template
ONNX of the network (``engine.training.instant_onnx``: no torch, about a second), which is
installed like any trained style.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from engine.io import paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "instant", help="make a style from a painting in seconds, without training",
        description="Make a style for the default network from PAINTING in seconds: a "
                    "predictor trained on many paintings sets the network's instance-norm "
                    "parameters (conditional instance norm). Needs the painting teacher "
                    "(pip install 'tinystyle[teacher]'). A trained style (tinystyle train) "
                    "follows the painting more closely.")
    p.add_argument("painting", metavar="PAINTING", type=Path, help="the painting (JPEG, PNG...)")
    p.add_argument("--name", required=True, help="style name (lowercase, digits, - or _)")
    p.add_argument("--title", help="title shown in the gallery (default: the file name)")
    p.add_argument("--weights", type=Path,
                   help="instant-style map (.npz, its template .onnx beside it; default: the "
                        "shipped resources/instant files)")
    p.add_argument("--out-dir", type=Path, help="folder for runs (default: the user runs folder)")
    p.add_argument("--no-install", action="store_true", help="only write the .onnx file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine import styles
    from engine.training.instant_onnx import load_template, read_painting, write_instant_style
    from engine.training.teacher import PaintingTeacher

    start = time.perf_counter()
    styles.check_name(args.name)
    painting = read_painting(args.painting)
    template = load_template(args.weights)  # before the teacher: a missing file fails fast
    out = write_instant_style(template, PaintingTeacher(painting).style_vector, painting,
                              args.painting.name, args.name, args.title or args.painting.stem,
                              (args.out_dir or paths.user_runs_dir()) / args.name)
    print(f"model: {out}")
    if not args.no_install:
        style = styles.import_user_style(out, args.name)
        print(f"installed style '{style.name}' ({style.path})")
    print(f"{time.perf_counter() - start:.1f} s")
    return 0
