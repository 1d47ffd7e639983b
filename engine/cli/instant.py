"""`tinystyle instant`: a painting's style for the default network in seconds, no training.

The painting teacher's predictor reads the painting's style vector, the shipped instant-style
model (``engine.training.instant``) turns it into the network's norm parameters, and the
result is exported and installed like any trained style.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from engine.io import paths

THUMBNAIL_SIDE = 192  # px, the gallery thumbnail (as trained styles have)


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
                   help="instant-style weights (default: the shipped resources/instant file)")
    p.add_argument("--out-dir", type=Path, help="folder for runs (default: the user runs folder)")
    p.add_argument("--no-install", action="store_true", help="only write the .onnx file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.deps import require_training

    require_training("tinystyle instant")
    from engine import styles
    from engine.card import ModelCard
    from engine.errors import ImageFormatError, StudioError
    from engine.export.to_onnx import export_onnx
    from engine.io.images import load_image, save_image
    from engine.training.instant import load_instant
    from engine.training.teacher import CREDIT, PaintingTeacher, centre_square

    start = time.perf_counter()
    styles.check_name(args.name)
    try:
        painting = load_image(args.painting).rgb
    except ImageFormatError as exc:
        raise StudioError(f"painting {exc.message}", hint="choose a JPEG or PNG painting") \
            from None
    model = load_instant(args.weights)  # before the teacher: a missing file fails fast
    vector = PaintingTeacher(painting).style_vector
    net = model.network(vector)
    card = ModelCard(
        name=args.name, title=args.title or args.painting.stem,
        preset=model.preset, painting_source=args.painting.name,
        description=f"instant style (conditional instance norm) from {args.painting.name}; "
                    f"style vector: {CREDIT}")
    out = (args.out_dir or paths.user_runs_dir()) / args.name / f"{args.name}.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(net, card, out)
    save_image(out.with_suffix(styles.THUMBNAIL_SUFFIX), centre_square(painting, THUMBNAIL_SIDE))
    print(f"model: {out}")
    if not args.no_install:
        style = styles.import_user_style(out, args.name)
        print(f"installed style '{style.name}' ({style.path})")
    print(f"{time.perf_counter() - start:.1f} s")
    return 0
