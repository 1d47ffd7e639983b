"""Re-export the built-in styles in the current ONNX form (opset, IR, doc strings) without
retraining: each shipped file is converted as it is (same weights, same int8 kernels) and
replaced only if the app's output on bundled photos stays within a grey level and the card
keeps every field (``min_runtimes`` is added).

    python scripts/reexport_bundled.py            # every resources/styles/*.onnx
    python scripts/reexport_bundled.py --check    # compare only, write nothing
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from engine.export.to_onnx import shrink, write_model
from engine.io import paths
from engine.io.files import write_bytes_atomic
from engine.io.images import load_image
from engine.io.model_files import open_onnx, read_card
from engine.runtime.stylizer import Stylizer

PHOTOS = 3  # bundled photos compared per style
LONG_SIDE = 480  # px; the photos are resized to this (and so not multiples of 4 in general)
TOLERANCE = 1  # grey levels
log = logging.getLogger("reexport_bundled")


def photos() -> list[np.ndarray]:
    """The first bundled photos at a moderate size."""
    out = []
    for path in sorted(paths.bundled_photos_dir().glob("*.jpg"))[:PHOTOS]:
        rgb = load_image(path).rgb
        scale = LONG_SIDE / max(rgb.shape[:2])
        size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
        out.append(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    return out


def reexport(path: Path, images: list[np.ndarray], *, write: bool) -> int:
    """Convert one style; returns its largest output difference in grey levels."""
    model, card = open_onnx(path, ours=True)
    shrink(model)
    with tempfile.TemporaryDirectory() as tmp:
        new_path = write_model(model, card, Path(tmp) / path.name)
        new_card = read_card(new_path)
        if dataclasses.replace(new_card, min_runtimes="") != card:
            raise SystemExit(f"{path}: the card changed: {card} -> {new_card}")
        old, new = Stylizer(path, threads=1), Stylizer(new_path, threads=1)
        worst = max(int(np.abs(old.stylize(rgb).astype(np.int16) - new.stylize(rgb)).max())
                    for rgb in images)
        if worst > TOLERANCE:
            raise SystemExit(f"{path}: outputs differ by {worst} grey levels")
        if write:
            write_bytes_atomic(path, new_path.read_bytes())
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    images = photos()
    for path in sorted(paths.bundled_styles_dir().glob("*.onnx")):
        worst = reexport(path, images, write=not args.check)
        log.info("%s: max difference %d grey level(s)%s", path.name, worst,
                 "" if args.check else ", rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
