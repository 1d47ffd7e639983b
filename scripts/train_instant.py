"""Train the instant-style predictor (issue #16): ``python scripts/train_instant.py``.

One command reproduces ``resources/instant/``: the painting teacher paints photo crops with
style vectors from the training paintings (and convex mixes of two, which the teacher paints
as readily as a real painting), the pairs are cached in the run folder, and then one shared
backbone plus a linear style map (``engine.training.instant``) learn them with the pixel loss
alone. Checkpoints every ``checkpoint_every`` steps; run the same command again to resume.
``--ship`` copies the result to resources/instant/ when it finishes, with the template ONNX
and style map that ``tinystyle instant`` uses without torch; ``--template`` only rewrites those
two from the shipped weights (after a change to the export, say).

Batches and pairs are pure functions of the recipe's seed (and the step), so resuming gives
the run it would have been.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.io import paths  # noqa: E402
from engine.io.images import find_images, load_image  # noqa: E402
from engine.io.model_files import load_network  # noqa: E402
from engine.models.config import net_preset  # noqa: E402
from engine.training.instant import (  # noqa: E402
    STYLE_DIM,
    InstantModel,
    load_instant,
    save_instant,
    save_instant_template,
    shipped_weights,
)
from engine.training.instant_onnx import shipped_map, template_path  # noqa: E402
from engine.training.pairs import draw_crop, pair_side  # noqa: E402
from engine.training.teacher import STYLE_SIDE, PaintingTeacher, centre_square  # noqa: E402

PAINTINGS = Path("/work/shared/data/styles")  # the curated paintings (MANIFEST.tsv beside them)


@dataclass(frozen=True)
class InstantRecipe:
    """What one predictor training run does; presets below say only what they change."""

    net: str = "fast-16-r5-zs"  # the app's default network
    # Paintings never seen in training: the evaluation's unseen styles (one Van Gogh, one
    # woodblock print, one abstract, so "unseen" covers near and far from the training set).
    held_out: tuple[str, ...] = ("van-gogh-church-at-auvers", "hokusai-ejiri-suruga",
                                 "kandinsky-composition-viii")
    pairs: int = 800  # (photo crop, vector) pairs the teacher paints (~0.4 s each here)
    mix_share: float = 0.5  # share of pairs whose vector mixes two training paintings
    crop_share: float = 0.5  # share of vectors read from a random crop, not the centre square
    eval_pairs: int = 4  # per held-out painting, painted once for the held-out loss
    image_size: int = 128  # px, training windows cut from the 384 px pairs
    batch_size: int = 8  # windows per step, each with its own style
    steps: int = 6500
    lr: float = 2e-3  # Adam, cosine decay to lr / 10 (the "painted" preset's)
    # The backbone starts as a distilled built-in style (a teacher-trained network), the map
    # at that style's norms for every vector: training starts from a painter, not noise.
    init_from: str = "starry-night"
    checkpoint_every: int = 250
    log_every: int = 50
    seed: int = 1


RECIPES: dict[str, InstantRecipe] = {
    "cpu": InstantRecipe(),  # ~30 min on a busy 2-core CPU after ~6 min of painting
    # Seconds: checks the script end to end, says nothing about quality.
    "smoke": InstantRecipe(pairs=12, eval_pairs=1, steps=20, checkpoint_every=10, log_every=5),
}


def load_photos() -> list[np.ndarray]:
    return [load_image(p).rgb for p in find_images([paths.bundled_photos_dir()])]


def painting_files(recipe: InstantRecipe) -> tuple[list[Path], list[Path]]:
    """(training, held-out) paintings, sorted by name."""
    files = sorted(PAINTINGS.glob("*.jpg"))
    held = [f for f in files if f.stem in recipe.held_out]
    if len(held) != len(recipe.held_out):
        raise SystemExit(f"held-out paintings missing in {PAINTINGS}: {recipe.held_out}")
    return [f for f in files if f.stem not in recipe.held_out], held


def crop_vector(teacher: PaintingTeacher, painting: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """The style vector of a random square covering 60-100% of the painting's short side."""
    h, w = painting.shape[:2]
    side = int(min(h, w) * rng.uniform(0.6, 1.0))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    square = centre_square(painting[top:top + side, left:left + side], STYLE_SIDE)
    return teacher.predict(square).reshape(STYLE_DIM)


def paint(teacher: PaintingTeacher, photos: list[np.ndarray], vectors: np.ndarray,
          seed: int, what: str) -> dict[str, np.ndarray]:
    """The teacher paints one random 384 px crop per vector."""
    side = pair_side(1.0)
    rng = np.random.default_rng([seed, 7])
    crops = np.empty((len(vectors), side, side, 3), np.uint8)
    paintings = np.empty_like(crops)
    start = time.perf_counter()
    for i, vector in enumerate(vectors):
        crops[i] = draw_crop(photos[int(rng.integers(len(photos)))], side, rng)
        teacher.style_vector = vector.reshape(1, 1, 1, STYLE_DIM)
        paintings[i] = teacher.paint(crops[i])
        if (i + 1) % 50 == 0 or i + 1 == len(vectors):
            print(f"{what}: painted {i + 1}/{len(vectors)} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    return {"crops": crops, "paintings": paintings, "vectors": vectors.astype(np.float32)}


def make_pairs(recipe: InstantRecipe, photos: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Training and held-out pairs, plus each training painting's centre vector."""
    train_files, held_files = painting_files(recipe)
    train = [load_image(f).rgb for f in train_files]
    held = [load_image(f).rgb for f in held_files]
    teacher = PaintingTeacher(train[0], threads=1)
    centres = np.stack([teacher.predict(p).reshape(STYLE_DIM) for p in train])
    rng = np.random.default_rng([recipe.seed, 5])
    vectors = np.empty((recipe.pairs, STYLE_DIM), np.float32)
    for i in range(recipe.pairs):
        a, b = rng.choice(len(train), 2, replace=False)
        va = crop_vector(teacher, train[a], rng) if rng.random() < recipe.crop_share \
            else centres[a]
        if rng.random() < recipe.mix_share:
            t = rng.uniform(0, 1)
            va = t * va + (1 - t) * centres[b]
        vectors[i] = va
    held_vectors = np.repeat(np.stack([teacher.predict(p).reshape(STYLE_DIM) for p in held]),
                             recipe.eval_pairs, axis=0)
    data = paint(teacher, photos, vectors, recipe.seed, "training pairs")
    evals = paint(teacher, photos, held_vectors, recipe.seed + 1000, "held-out pairs")
    return {**data, "centres": centres, **{f"eval_{k}": v for k, v in evals.items()}}


def load_or_make_pairs(run: Path, recipe: InstantRecipe) -> dict[str, np.ndarray]:
    cache = run / "pairs.npz"
    if cache.is_file():
        with np.load(cache) as saved:
            return dict(saved)
    data = make_pairs(recipe, load_photos())
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(cache)
    return data


def batch(data: dict[str, np.ndarray], recipe: InstantRecipe, step: int
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(photos, paintings, vectors) for ``step``: random aligned windows, random flips."""
    rng = np.random.default_rng([recipe.seed, step, 4])
    n, side, w = len(data["crops"]), data["crops"].shape[1], recipe.image_size
    picks = rng.integers(0, n, recipe.batch_size)
    tops, lefts = (rng.integers(0, side - w + 1, recipe.batch_size) for _ in range(2))
    windows = [(p, slice(t, t + w), slice(le, le + w))
               for p, t, le in zip(picks, tops, lefts, strict=True)]
    x = np.stack([data["crops"][window] for window in windows])
    y = np.stack([data["paintings"][window] for window in windows])
    flips = rng.random(recipe.batch_size) < 0.5
    x[flips], y[flips] = x[flips, :, ::-1], y[flips, :, ::-1]
    to_tensor = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float()  # noqa: E731
    return to_tensor(x), to_tensor(y), torch.from_numpy(data["vectors"][picks])


def pixel_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 in 0..1 units."""
    return (out - target).abs().mean() / 255


def held_out_loss(model: InstantModel, data: dict[str, np.ndarray]) -> float:
    """Mean L1 on the held-out paintings' pairs (whole 384 px crops)."""
    with torch.no_grad():
        losses = []
        for crop, target, vector in zip(data["eval_crops"], data["eval_paintings"],
                                        data["eval_vectors"], strict=True):
            x = torch.from_numpy(crop).permute(2, 0, 1)[None].float()
            y = torch.from_numpy(target).permute(2, 0, 1)[None].float()
            losses.append(pixel_loss(model(x, torch.from_numpy(vector)[None]), y).item())
    return float(np.mean(losses))


def new_model(recipe: InstantRecipe, data: dict[str, np.ndarray]) -> InstantModel:
    model = InstantModel(net_preset(recipe.net))
    init, _ = load_network(paths.bundled_styles_dir() / f"{recipe.init_from}.onnx")
    model.backbone.load_state_dict(init.state_dict())
    fresh = InstantModel(model.backbone.config)  # its map's bias = the loaded norms
    fresh.backbone.load_state_dict(init.state_dict())
    model.style_map.load_state_dict(fresh.style_map.state_dict())
    centres = torch.from_numpy(data["centres"])
    model.center.copy_(centres.mean(0))
    model.spread.copy_((centres - centres.mean(0)).norm(dim=1).mean() / math.sqrt(STYLE_DIM))
    return model


def lr_at(recipe: InstantRecipe, step: int) -> float:
    floor = 0.1
    return recipe.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * step / recipe.steps)))


def train(recipe: InstantRecipe, run: Path) -> InstantModel:
    run.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data = load_or_make_pairs(run, recipe)
    print(f"pairs ready: {len(data['crops'])} training, {len(data['eval_crops'])} held-out "
          f"({time.perf_counter() - start:.0f} s)", flush=True)
    model = new_model(recipe, data)
    optimizer = torch.optim.Adam(model.parameters(), recipe.lr)
    checkpoint, step = run / "checkpoint.pt", 0
    if checkpoint.is_file():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step = saved["step"]
        print(f"resumed at step {step}", flush=True)
    else:
        photo_l1 = float(np.mean(np.abs(data["eval_crops"].astype(np.float32)
                                        - data["eval_paintings"]))) / 255
        print(f"held-out L1: photo itself {photo_l1:.4f}, initial model "
              f"{held_out_loss(model, data):.4f}", flush=True)
    model.train()
    train_start, running = time.perf_counter(), []
    while step < recipe.steps:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(recipe, step)
        x, y, v = batch(data, recipe, step)
        loss = pixel_loss(model(x, v), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        running.append(loss.item())
        if step % recipe.log_every == 0:
            rate = (time.perf_counter() - train_start) / len(running)
            print(f"step {step}/{recipe.steps} L1 {np.mean(running[-recipe.log_every:]):.4f} "
                  f"{rate:.2f} s/step", flush=True)
        if step % recipe.checkpoint_every == 0 or step == recipe.steps:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "step": step, "recipe": dataclasses.asdict(recipe)}, checkpoint)
            print(f"checkpoint at step {step}: held-out L1 {held_out_loss(model, data):.4f}, "
                  f"{time.perf_counter() - start:.0f} s since start", flush=True)
    return model.eval()


SHEET_PHOTOS = ("matplotlib-grace-hopper", "gcompris-details-tour-eiffel", "skimage-coffee",
                "palapeli-cincinnati-bridge")  # shared content photos not in resources/photos
TILE = 192  # px, sheet tiles


def sheet(model: InstantModel, recipe: InstantRecipe, path: Path, extra: tuple[str, ...] = ()
          ) -> None:
    """Per painting: the painting, then the teacher's and the instant style's painting of each
    unseen photo (two rows); the photos on top. Prints instant-vs-teacher L1 per painting."""
    import cv2

    from engine.io.images import save_image
    from engine.training.teacher import SIDE

    _, held = painting_files(recipe)
    files = held + [PAINTINGS / f"{name}.jpg" for name in extra]
    photos = [centre_square(load_image(PAINTINGS.parent / "content" / f"{n}.jpg").rgb, SIDE)
              for n in SHEET_PHOTOS]
    small = lambda rgb: cv2.resize(rgb, (TILE, TILE), interpolation=cv2.INTER_AREA)  # noqa: E731
    blank = np.full((TILE, TILE, 3), 255, np.uint8)
    rows = [[blank] + [small(p) for p in photos]]
    teacher = None
    for file in files:
        painting = load_image(file).rgb
        teacher = teacher or PaintingTeacher(painting, threads=1)
        teacher.style_vector = teacher.predict(painting)
        net = model.network(teacher.style_vector)
        taught, instant, losses = [], [], []
        for photo in photos:
            target = teacher.paint(photo)
            with torch.no_grad():
                x = torch.from_numpy(photo).permute(2, 0, 1)[None].float()
                out = net(x)[0].clamp(0, 255).round().byte().permute(1, 2, 0).numpy()
            losses.append(np.abs(out.astype(np.float32) - target).mean() / 255)
            taught.append(small(target))
            instant.append(small(out))
        kind = "held out" if file in held else "training"
        print(f"{file.stem} ({kind}): instant vs teacher L1 {np.mean(losses):.4f}", flush=True)
        rows += [[small(centre_square(painting, SIDE))] + taught, [blank] + instant]
    save_image(path, np.concatenate([np.concatenate(r, 1) for r in rows], 0))
    print(f"sheet: {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=list(RECIPES), default="cpu")
    parser.add_argument("--run", type=Path, help="run folder (default: runs/instant-RECIPE)")
    parser.add_argument("--steps", type=int, help="override the recipe's steps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--ship", action="store_true",
                        help="copy the weights to resources/instant/ when done, with the "
                             "template ONNX and style map made from them")
    parser.add_argument("--template", action="store_true",
                        help="only write resources/instant/'s template ONNX and style map from "
                             "the shipped weights (or --weights); no training")
    parser.add_argument("--sheet", type=Path, metavar="IMAGE",
                        help="only draw the evaluation sheet of the shipped weights (or "
                             "--weights) on the held-out paintings and write it here")
    parser.add_argument("--weights", type=Path, help="weights for --sheet and --template")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = RECIPES[args.recipe]
    if args.steps:
        recipe = dataclasses.replace(recipe, steps=args.steps)
    if args.template:
        ship_template(load_instant(args.weights))
        return 0
    if args.sheet:
        sheet(load_instant(args.weights), recipe, args.sheet,
              extra=("van-gogh-starry-night", "hokusai-great-wave"))
        return 0
    run = args.run or ROOT / "runs" / f"instant-{args.recipe}"
    start = time.perf_counter()
    model = train(recipe, run)
    out = save_instant(model, run / shipped_weights().name, recipe=dataclasses.asdict(recipe),
                       credit="style vectors: Magenta arbitrary image stylization "
                              "(Ghiasi et al. 2017), Apache-2.0")
    print(f"weights: {out} ({out.stat().st_size} bytes); "
          f"{time.perf_counter() - start:.0f} s in all", flush=True)
    if args.ship:
        shipped_weights().parent.mkdir(exist_ok=True)
        shutil.copyfile(out, shipped_weights())
        print(f"shipped: {shipped_weights()}")
        ship_template(model)
    return 0


def ship_template(model: InstantModel) -> None:
    """resources/instant/'s template ONNX and style map, made from ``model``."""
    out = save_instant_template(model, shipped_map())
    for path in (template_path(out), out):
        print(f"shipped: {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    sys.exit(main())
