"""Photo crops and the teacher's paintings of them: the targets of a distilled style.

The teacher (``engine.training.teacher``) is slow, so it paints each crop once, before
training, and the pairs are cached in the run folder: a resumed run reuses them. Training
batches are random aligned windows of the pairs, a pure function of ``(seed, step)`` like
``ContentPhotos.batch``, so resume is exact.

Stroke size: the teacher's strokes have a fixed size in its own pixels. To make them ``s``
times larger on the photo, a crop ``s`` times the teacher's side is shrunk to it, painted, and
the painting scaled back up to the crop; the network then learns strokes ``s`` times larger
at 1:1.

Tiles (``tiles`` > 0): the teacher paints small windows of each crop on their own instead of
the whole crop (``paint_tile``), so its strokes depend only on what the network sees in a
training window, not on a stroke decision made 200 px away that the network cannot see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.errors import TrainingError
from engine.io.files import atomic_path
from engine.training.artefacts import GRID_PERIOD, remove_grid
from engine.training.teacher import SIDE, PaintingTeacher

log = logging.getLogger(__name__)

PAIRS_NAME = "teacher-pairs.npz"  # cache file in the run folder
MAX_SCALE = 1.6  # a photo's short side is rescaled to 1..MAX_SCALE times the pair's side


def pair_side(stroke_size: float) -> int:
    """Side of the photo crops, in photo pixels, for a stroke size (a multiple of 4)."""
    return max(64, int(round(SIDE * stroke_size / 4)) * 4)


def _resize(rgb: np.ndarray, side: int) -> np.ndarray:
    """Square uint8 image to ``side`` px: area when shrinking, cubic when enlarging."""
    if rgb.shape[0] == side:
        return rgb
    shrink = rgb.shape[0] > side
    return cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA if shrink
                      else cv2.INTER_CUBIC)


def draw_crop(rgb: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """A random square ``side`` px crop of the photo, its short side rescaled to
    side * U(1, MAX_SCALE) first (so crops show whole subjects as well as details)."""
    h, w = rgb.shape[:2]
    scale = side * rng.uniform(1, MAX_SCALE) / min(h, w)
    nh, nw = max(side, round(h * scale)), max(side, round(w * scale))
    resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1
                         else cv2.INTER_CUBIC)
    top, left = int(rng.integers(0, nh - side + 1)), int(rng.integers(0, nw - side + 1))
    return np.ascontiguousarray(resized[top:top + side, left:left + side])


def paint_tile(teacher: PaintingTeacher, tile: np.ndarray, stroke_size: float,
               strength: float, phase: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The teacher's painting of a small square tile on its own: brought to the teacher's
    scale, mirrored out to its SIDE px canvas (``phase`` px down and right of its centre),
    painted, and the tile's place cut back out and scaled back.

    Why: painting a whole 384 px crop, the teacher places strokes by content up to ~200 px
    away, and the network, shown a 128 px window of it, can only learn their average (a
    blur). A tile painted alone, and shown to the network whole, has strokes that follow what
    the network sees. Great Wave, 20 unseen photos, seeds 1 and 2: judge 0.0243 / 0.0300 ->
    0.0238 / 0.0210 (docs/strokes/README.md, session 18).
    """
    side = tile.shape[0]
    small = _resize(tile, max(4, round(side / stroke_size)))
    t = small.shape[0]
    top, left = (min((SIDE - t) // 2 + p, SIDE - t) for p in phase)
    canvas = np.pad(small, ((top, SIDE - t - top), (left, SIDE - t - left), (0, 0)),
                    mode="symmetric")
    return _resize(teacher.paint(canvas, strength)[top:top + t, left:left + t], side)


def paint_pairs(photos: list[np.ndarray], teacher: PaintingTeacher, count: int,
                stroke_size: float, strength: float, seed: int,
                painted: Callable[[int, int], None] = lambda done, total: None,
                tiles: int = 0, window: int = 128, phases: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """``count`` crops of pair_side(stroke) px and the teacher's paintings of them, uint8
    (count, S, S, 3) each; with ``tiles``, ``tiles`` random ``window`` px tiles of each crop
    painted on their own (``paint_tile``) and their 4-px pattern removed (below): count * tiles
    pairs of the window's side. ``painted(done, total)`` after each painting; it may raise
    ``Cancelled`` to stop there.

    The teacher draws a faint fixed 4-px pattern aligned with its canvas. Windows cut at any
    offset of a crop put it at every phase, so the network cannot learn it; a tile is always
    seen from its corner, and the network learned it exactly (Great Wave: grid 0.65-0.93 grey
    levels on 18-20 of 20 unseen photos), hence ``remove_grid`` on each tile's painting (grid
    0.04-0.09; the judge of outputs with and without the pattern is the same). That removes
    the pattern's mean, not the part that follows the content (its sign differs between dark
    and bright areas: Composition VIII's tiles kept 1.1 grey levels of it in their dark
    halves). With ``phases`` each tile sits at a random phase of the teacher's canvas
    (``paint_tile``'s ``phase``, from a stream of its own so the tiles are the same ones):
    whatever the teacher stamps on its canvas then lands at every phase of the tiles, which no
    network can learn (Mona Lisa: grid 0.36 grey levels on 6 of 20 unseen photos -> 0.13 on
    none; Composition VIII's grid, 0.74 on 20 of 20, is its own and stayed). Not by default:
    the teacher's strokes follow its lattice too, and the judge rose 6% on average over 10
    paintings (docs/strokes/README.md, session 20). Tiles 8 px larger than the window,
    seen at random offsets, also lost the pattern but painted less (judge 0.0242 / 0.0230)."""
    side = pair_side(stroke_size)
    rng = np.random.default_rng([seed, 3])
    phase = np.zeros((count * tiles, 2), int)  # (top, left) of each tile on the canvas
    if phases:
        phase = np.random.default_rng([seed, 5]).integers(0, GRID_PERIOD, phase.shape)
    order = rng.permutation(count) % len(photos)  # every photo about equally often
    out = side if not tiles else window
    if tiles and (out > side or round(out / stroke_size) > SIDE):
        raise TrainingError(f"teacher tiles of {out} px do not fit crops of {side} px at stroke "
                            f"size {stroke_size:g}", hint="use smaller training crops")
    total = count * max(1, tiles)
    crops = np.empty((total, out, out, 3), np.uint8)
    paintings = np.empty_like(crops)
    for i, index in enumerate(order):
        crop = draw_crop(photos[index], side, rng)
        if not tiles:
            crops[i] = crop
            paintings[i] = _resize(teacher.paint(_resize(crop, SIDE), strength), side)
            painted(i + 1, total)
            continue
        for j in range(i * tiles, (i + 1) * tiles):
            top, left = rng.integers(0, side - out + 1, 2)
            crops[j] = crop[top:top + out, left:left + out]
            paintings[j] = remove_grid(paint_tile(teacher, crops[j], stroke_size, strength,
                                                  tuple(phase[j])))
            painted(j + 1, total)
    return crops, paintings


def match_palette(paintings: np.ndarray, painting: np.ndarray) -> np.ndarray:
    """The teacher's paintings (uint8 (N, S, S, 3)) given the painting's palette: per CIELAB
    channel, one monotone map from the levels of all N pooled to the same quantiles of the
    painting's pixels (histogram matching), the same map for every pair.

    Why: the teacher repaints each photo in strokes but keeps much of its palette (Great Wave:
    ochre and orange where the painting is cream and Prussian blue), and the network learns
    that palette faithfully. One map for all pairs keeps their differences (a night photo
    stays darker than a beach) while the set as a whole takes the painting's colours.
    """
    def lab(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)

    source = [np.zeros(256, np.int64) for _ in range(3)]
    for rgb in paintings:  # one pair at a time: 900 pairs in Lab at once would be ~400 MB
        x = lab(rgb)
        for channel, counts in enumerate(source):
            counts += np.bincount(x[..., channel].ravel(), minlength=256)
    target = lab(painting).reshape(-1, 3)
    luts = []
    for channel, counts in enumerate(source):
        # each level goes to the painting's value at the middle of that level's pooled ranks
        middle = (np.cumsum(counts) - counts / 2) / counts.sum()
        luts.append(np.quantile(target[:, channel], middle).round().astype(np.uint8))
    out = np.empty_like(paintings)
    for i, rgb in enumerate(paintings):
        x = lab(rgb)
        for channel, lut in enumerate(luts):
            x[..., channel] = lut[x[..., channel]]
        out[i] = cv2.cvtColor(x, cv2.COLOR_LAB2RGB)
    return out


class TeacherPairs:
    """The pairs of one run, as training batches. ``load_or_paint`` builds or reuses them."""

    def __init__(self, crops: np.ndarray, paintings: np.ndarray, window: int,
                 device: torch.device | str = "cpu"):
        if crops.shape != paintings.shape or crops.shape[1] < window:
            raise TrainingError(f"teacher pairs of side {crops.shape[1]} cannot give "
                                f"{window} px training crops")
        self.window = window
        self.device = torch.device(device)
        self._crops = torch.from_numpy(crops).permute(0, 3, 1, 2)  # uint8 (N, 3, S, S)
        self._paintings = torch.from_numpy(paintings).permute(0, 3, 1, 2)

    def __len__(self) -> int:
        return len(self._crops)

    @classmethod
    def load_or_paint(cls, cache: Path, make: Callable[[], tuple[np.ndarray, np.ndarray]],
                      window: int,
                      device: torch.device | str = "cpu") -> TeacherPairs:
        """Pairs from ``cache`` if it holds them, else ``make()`` them and save the cache."""
        if cache.is_file():
            try:
                with np.load(cache) as saved:
                    return cls(saved["crops"], saved["paintings"], window, device)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("%s unreadable (%s): painting the pairs again", cache, exc)
        crops, paintings = make()
        with atomic_path(cache) as tmp, open(tmp, "wb") as f:
            np.savez(f, crops=crops, paintings=paintings)
        return cls(crops, paintings, window, device)

    def batch(self, step: int, batch_size: int, seed: int, rows: slice | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """(photos, paintings) for ``step``: float (b, 3, window, window) 0..255 each.
        ``rows`` selects this process's rows under DDP, as in ``ContentPhotos.batch``."""
        rng = np.random.default_rng([seed, step, 4])
        side = self._crops.shape[-1]
        picks = rng.integers(0, len(self), batch_size)
        tops = rng.integers(0, side - self.window + 1, batch_size)
        lefts = rng.integers(0, side - self.window + 1, batch_size)
        flips = rng.random(batch_size) < 0.5
        wanted = range(batch_size)[rows] if rows is not None else range(batch_size)
        x, y = [], []
        for j in wanted:
            window = (slice(None), slice(tops[j], tops[j] + self.window),
                      slice(lefts[j], lefts[j] + self.window))
            a, b = self._crops[picks[j]][window], self._paintings[picks[j]][window]
            if flips[j]:
                a, b = a.flip(-1), b.flip(-1)
            x.append(a)
            y.append(b)
        return (torch.stack(x).float().to(self.device),
                torch.stack(y).float().to(self.device))
