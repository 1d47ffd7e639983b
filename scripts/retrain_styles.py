"""Retrain the built-in styles from their recipes: the shipped models are what this produces.

    python scripts/retrain_styles.py                 # every recipe in resources/styles/recipes
    python scripts/retrain_styles.py starry-night great-wave --resume

Each recipe (``resources/styles/recipes/<name>.toml``) names the painting (a file in the curated
data set's ``styles/`` folder), its credits, and a training preset with overrides. The models are
trained on the bundled photo set (``resources/photos``) with
``engine.training.trainer.Trainer`` (a GPU is used when present) and written to
``resources/styles/<name>.onnx`` with a full model card, beside a thumbnail of the painting
(``<name>.jpg``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
from PIL import Image

from engine.card import ModelCard
from engine.export.to_onnx import export_onnx
from engine.io import paths
from engine.io.images import load_image, save_image
from engine.io.model_files import load_network
from engine.models.transformer import count_weights
from engine.progress import TrainCallbacks
from engine.training.checkpoint import load_checkpoint
from engine.training.config import CHECKPOINT_NAME, TRAIN_PRESETS
from engine.training.trainer import Trainer

REPO = Path(__file__).resolve().parent.parent
RECIPES = paths.bundled_styles_dir() / "recipes"
log = logging.getLogger("retrain_styles")
THUMBNAIL_SIDE = 256  # px, long side of the painting thumbnail shown in the gallery


class LogProgress(TrainCallbacks):
    """One log line every ``every`` steps: enough to follow a long unattended run."""

    def __init__(self, name: str, every: int = 100) -> None:
        self.name, self.every = name, every

    def on_progress(self, step, total, losses, images_per_second, eta_s) -> None:
        if step % self.every == 0 or step == total:
            loss = " ".join(f"{k}={v:.3g}" for k, v in losses.items())
            log.info("%s %d/%d %s %.1f img/s eta %.0fs", self.name, step, total, loss,
                         images_per_second, eta_s)


def load_recipe(recipes: Path, name: str) -> dict:
    path = recipes / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in recipes.glob("*.toml")))
        sys.exit(f"error: no recipe {path}\nhint: known styles: {known}")
    with open(path, "rb") as f:
        return tomllib.load(f)


def train_config(recipe: dict):
    overrides = dict(recipe["train"])
    base = TRAIN_PRESETS[overrides.pop("preset")]
    return dataclasses.replace(base, **overrides)


def save_thumbnail(painting: Path, target: Path) -> None:
    image = Image.fromarray(load_image(painting).rgb)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    save_image(target, np.asarray(image), quality=90)


def retrain(name: str, args: argparse.Namespace) -> Path:
    recipe = load_recipe(args.recipes, name)
    painting_info = recipe["painting"]
    painting = args.data / "styles" / painting_info["file"]
    config = train_config(recipe)
    if args.threads:
        config = dataclasses.replace(config, threads=args.threads)
    started = time.monotonic()
    checkpoint = args.runs / name / CHECKPOINT_NAME
    if not args.export_only:
        Trainer(config, painting, args.content, args.runs / name, LogProgress(name),
                name=name, resume=args.resume).run()
    net, _ = load_network(checkpoint)
    steps = load_checkpoint(checkpoint)["step"]
    card = ModelCard(
        name=name, title=painting_info["title"], artist=painting_info["artist"],
        year=painting_info["year"], preset=config.net, weights=count_weights(net),
        steps=steps,
        painting_source=f"{painting_info['source']}; image licence: "
                        f"{painting_info['image_licence']}; painting in the public domain",
        description=f"{painting_info['title']} ({painting_info['artist']}), built-in TinyStyle "
                    f"style; recipe resources/styles/recipes/{name}.toml",
        model_config=net.config.to_dict(),
    )
    out = export_onnx(net, card, args.out / f"{name}.onnx")
    save_thumbnail(painting, args.out / f"{name}.jpg")
    log.info("%s: %s (%d steps, %.1f min)", name, out, steps,
                 (time.monotonic() - started) / 60)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Retrain the built-in styles from their recipes.")
    parser.add_argument("names", nargs="*", help="recipe names (default: all)")
    parser.add_argument("--recipes", type=Path, default=RECIPES, help="recipe folder")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="curated data set with styles/ (default: ../shared/data)")
    parser.add_argument("--content", type=Path, default=paths.bundled_photos_dir(),
                        help="training photos (default: the bundled photo set)")
    parser.add_argument("--out", type=Path, default=paths.bundled_styles_dir())
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "builtin",
                        help="checkpoints and previews (resumable)")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints")
    parser.add_argument("--export-only", action="store_true",
                        help="export the runs' current checkpoints without training")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads per run (default: all cores)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)  # our progress lines, not the ONNX optimiser's chatter
    names = args.names or sorted(p.stem for p in args.recipes.glob("*.toml"))
    for name in names:
        retrain(name, args)


if __name__ == "__main__":
    main()
