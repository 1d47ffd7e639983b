"""Retrain the built-in styles from their recipes: the shipped models are what this produces.

    python scripts/retrain_styles.py                 # every recipe, local Ray instance
    python scripts/retrain_styles.py starry-night great-wave --resume
    python scripts/retrain_styles.py --gpus-per-job 0.5 --cpus-per-job 4   # 2 jobs per GPU
    python scripts/retrain_styles.py --address auto  # on a node of a running Ray cluster
    python scripts/retrain_styles.py --guard-only    # refit the shipped models' near-black guards

Each recipe (``resources/styles/recipes/<name>.toml``) names the painting (a file in the curated
data set's ``styles/`` folder), its credits, and a training preset with overrides. Every recipe
is one Ray job (``engine.training.library``, the engine of ``tinystyle train-library``): jobs
run in parallel with their CPU/GPU shares, Ray retries a failed one from its checkpoint, and
all runs land in ``--runs``. The finished ones are exported to ``resources/styles/<name>.onnx``
with a full model card, beside a thumbnail of the painting (``<name>.jpg``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from engine.cli import print_error
from engine.errors import StudioError
from engine.export.to_onnx import export_onnx
from engine.io import paths
from engine.io.images import load_image, save_image
from engine.io.model_files import load_network
from engine.training.checkpoint import load_checkpoint
from engine.training.config import CHECKPOINT_NAME
from engine.training.dark_guard_fit import add_dark_guard
from engine.training.library import LibrarySettings, Recipe, train_library
from engine.training.trainer import credit_teacher

REPO = Path(__file__).resolve().parent.parent
RECIPES = paths.bundled_styles_dir() / "recipes"
log = logging.getLogger("retrain_styles")
THUMBNAIL_SIDE = 256  # px, long side of the painting thumbnail shown in the gallery


def load_recipe(recipes: Path, name: str, data: Path) -> Recipe:
    """The built-in recipe ``name``, its credits worded as the shipped cards word them."""
    path = recipes / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in recipes.glob("*.toml")))
        raise StudioError(f"no recipe {path}", hint=f"known styles: {known}")
    recipe = Recipe.load(path, data / "styles")
    credits = dataclasses.replace(
        recipe.credits,
        painting_source=f"{recipe.credits.painting_source}; painting in the public domain",
        description=f"{recipe.credits.title} ({recipe.credits.artist}), built-in TinyStyle "
                    f"style; recipe resources/styles/recipes/{name}.toml")
    credits = dataclasses.replace(credits, description=credit_teacher(credits.description,
                                                                      recipe.config))
    return dataclasses.replace(recipe, credits=credits)


def save_thumbnail(painting: Path, target: Path) -> None:
    image = Image.fromarray(load_image(painting).rgb)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    save_image(target, np.asarray(image), quality=90)


def export(recipe: Recipe, runs: Path, out: Path) -> Path:
    """The run's checkpoint as ``out/<name>.onnx`` with the recipe's card, plus the thumbnail."""
    checkpoint = runs / recipe.name / CHECKPOINT_NAME
    net, _ = load_network(checkpoint)
    card = dataclasses.replace(recipe.credits, preset=recipe.config.net,
                               steps=load_checkpoint(checkpoint)["step"])
    path = export_onnx(net, card, out / f"{recipe.name}.onnx")
    save_thumbnail(recipe.painting, out / f"{recipe.name}.jpg")
    fit_guard(recipe, path)
    log.info("%s: %s (%d steps)", recipe.name, path, card.steps)
    return path


def fit_guard(recipe: Recipe, model: Path) -> None:
    """Fit the model's near-black guard to its painting and write it into its card."""
    card = add_dark_guard(model, load_image(recipe.painting).rgb)
    log.info("%s: near-black guard %s", recipe.name,
             f"{card.dark_lift} grey levels, towards {card.dark_colour}" if card.dark_colour
             else "not needed")


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
                        help="checkpoints, previews and library.json (resumable)")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints")
    parser.add_argument("--export-only", action="store_true",
                        help="export the runs' current checkpoints without training")
    parser.add_argument("--guard-only", action="store_true",
                        help="only fit the shipped models' near-black guards (no training)")
    parser.add_argument("--address", help="Ray cluster to join (default: a local instance)")
    parser.add_argument("--cpus-per-job", type=float, default=1.0,
                        help="CPUs (and torch threads) per style (default: 1)")
    parser.add_argument("--gpus-per-job", type=float, default=0.0,
                        help="GPU share per style, 0 to 1 (default: 0, the CPU)")
    parser.add_argument("--retries", type=int, default=2, help="Ray retries per style")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)  # our progress lines, not the ONNX optimiser's chatter
    names = args.names or sorted(p.stem for p in args.recipes.glob("*.toml"))
    started = time.monotonic()
    try:
        recipes = [load_recipe(args.recipes, name, args.data) for name in names]
        if args.guard_only:
            for recipe in recipes:
                fit_guard(recipe, args.out / f"{recipe.name}.onnx")
            return
        if not args.export_only:
            settings = LibrarySettings(args.runs.resolve(), args.content.resolve(),
                                       args.cpus_per_job, args.gpus_per_job, args.retries,
                                       args.resume, report_every_s=60)
            outcomes = train_library(recipes, settings, address=args.address,
                                     on_event=lambda event: log.info("%s", event.format()))
            recipes = [r for r, o in zip(recipes, outcomes, strict=True) if o.status == "done"]
        for recipe in recipes:
            export(recipe, args.runs, args.out)
    except StudioError as exc:  # a bad recipe or run folder: the message, not a traceback
        print_error(exc)
        sys.exit(2)
    log.info("exported %d of %d styles in %.1f min", len(recipes), len(names),
             (time.monotonic() - started) / 60)
    if len(recipes) < len(names):
        sys.exit(1)


if __name__ == "__main__":
    main()
