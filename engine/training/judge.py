"""A style judge that sees strokes, motifs and palette, and a content measure that sees layout.

Style distance (issue #18): the sliced Wasserstein distance (SW2; Heitz et al. 2021, "A Sliced
Wasserstein Loss for Neural Texture Synthesis") between the distribution of an output's VGG19
features at relu3_1, relu4_1 and relu5_1 (24, 68 and 156 px neighbourhoods: strokes, swirls,
woodcut lines) and the painting's, plus the same distance between their CIELAB colours.

Why this design, from what failed before (docs/judge/README.md):
- The training Grams (uncentred second moments of relu1_1..relu4_1) are dominated by palette
  and fine texture, so a colour grade with hatching scored as well as real strokes. Whole 1-D
  distributions along many directions keep what second moments average away: a painting's
  features are multimodal (stroke vs. ground, motif vs. sky).
- Judged at 256 px with the painting resized to the output's short side, the judge preferred our
  blue-graded Starry Night to the peer's painted one: at that size the peer's strokes were far
  bigger than the painting's and its 4-px grid a larger share of relu3_1. So outputs are judged
  at the size models are used at (512 px short side by default) and the painting is seen at
  several sizes (PAINTING_SCALES of the output's short side) and the best-fitting one is kept:
  a style network applies the painting at whatever stroke size it was trained at, not at the
  frame size, and the judge should not punish one choice of scale.
- The eye judges palette strongly (Starry Night's yellow and blue vs. an all-blue grade), which
  deep features see only weakly; colour gets its own term. Lab so that distances are roughly
  perceptual; divided by the painting's colour spread so that it is unitless like the others.
Each feature layer is divided by the painting's feature RMS; the distance is the mean of the
three layers and the colour term. Validated against the eye in docs/judge/README.md: it agrees
on Great Wave but still prefers our blue-graded Starry Night to the peer's painted one, so read
it with the sheets, not alone.

Content: correlation between the cosine self-similarity matrices of the relu4_1 features of the
output and of the photo (after Kolkin et al. 2019, STROTSS). Re-painting changes every feature
but keeps which regions resemble which, so a stylized photo with readable subjects stays well
above a destroyed one, and the photo itself scores 1. Read it next to SSIM: high SSIM means
"unchanged", low SSIM with high structure means "repainted, still readable".

Deterministic: the projection directions come from a fixed seed per width.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engine.training.data import resize_short_side
from engine.training.vgg import VGGFeatures

STYLE_LAYERS = ("relu3_1", "relu4_1", "relu5_1")
COLOUR = "colour"  # the palette term's key next to the layers
STRUCTURE_LAYER = "relu4_1"
PAINTING_SCALES = (0.5, 0.75, 1.0)  # painting short side over the output's; the best one counts
PROJECTIONS = 512  # random directions per layer: within 3% of 2,048 (256 strayed 6%)
COLOUR_PROJECTIONS = 64  # 3-D colours need few directions
SEED = 18  # projection directions are a pure function of (seed, width, count)
MAX_STRUCTURE_POINTS = 1600  # feature positions in the self-similarity matrix (pooled above)
MAX_POINTS = 4096  # feature vectors per distribution (a fixed stride above that)
MAX_COLOUR_POINTS = 65_536  # pixels per colour distribution (a fixed stride above that)


@cache
def directions(channels: int, count: int = PROJECTIONS, seed: int = SEED) -> torch.Tensor:
    """(channels, count) unit vectors, drawn once from a fixed seed."""
    gen = torch.Generator().manual_seed(seed * 100_003 + channels)
    d = torch.randn(channels, count, generator=gen)
    return d / d.norm(dim=0, keepdim=True)


def _quantiles(sorted_values: torch.Tensor, k: int) -> torch.Tensor:
    """(P, n) row-sorted values -> (P, k) at k evenly spaced quantiles (linear interpolation),
    so distributions with different numbers of points can be compared."""
    n = sorted_values.shape[1]
    if n == k:
        return sorted_values
    pos = torch.linspace(0, n - 1, k, device=sorted_values.device)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    w = pos - lo
    return sorted_values[:, lo] * (1 - w) + sorted_values[:, hi] * w


def projected(x: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """Points (N, C) along the directions (C, P) -> (P, N), each row sorted: a distribution's
    sliced form, computed once and compared with many (rows: contiguous sorts, 2x faster)."""
    return (dirs.T @ x.T).sort(dim=1).values


def sorted_distance(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """SW2 between two sliced forms: root mean squared difference of matched quantiles."""
    k = min(px.shape[1], py.shape[1])
    return (_quantiles(px, k) - _quantiles(py, k)).square().mean().sqrt()


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """SW2 between point clouds x (N, C) and y (M, C) along the columns of ``dirs`` (C, P),
    averaged over directions."""
    return sorted_distance(projected(x, dirs), projected(y, dirs))


def _points(features: torch.Tensor, limit: int | None = None) -> torch.Tensor:
    """(1, C, H, W) -> (H*W, C) feature vectors; with ``limit``, every k-th of them so that at
    most ``limit`` remain (a fixed stride keeps it deterministic and spread over the frame)."""
    points = features[0].flatten(1).T
    return points if limit is None else points[::-(-points.shape[0] // limit)]


class _Sliced:
    """A feature map's sliced forms per style layer and its feature RMS (the unit)."""

    def __init__(self, features: dict[str, torch.Tensor], projections: int = PROJECTIONS):
        self.forms, self.scale = {}, {}
        for layer in STYLE_LAYERS:
            x = _points(features[layer], MAX_POINTS)
            self.forms[layer] = projected(x, directions(x.shape[1], projections).to(x.device))
            self.scale[layer] = float(x.square().mean().sqrt().clamp_min(1e-12))

    def distances(self, target: _Sliced) -> dict[str, float]:
        """Per layer, SW2 to ``target`` in units of the target's feature RMS."""
        return {layer: float(sorted_distance(self.forms[layer], target.forms[layer]))
                / target.scale[layer] for layer in STYLE_LAYERS}


def lab_points(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) RGB -> (N, 3) CIELAB colours, at most MAX_COLOUR_POINTS of them."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    stride = -(-lab.shape[0] // MAX_COLOUR_POINTS)
    return torch.from_numpy(np.ascontiguousarray(lab[::stride]))


def structure_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of the cosine self-similarity matrices of two (1, C, H, W) maps.

    1 for the same layout, ~0 for unrelated ones. Maps larger than MAX_STRUCTURE_POINTS
    positions are average-pooled first (the matrix grows with the square).
    """
    if a.shape != b.shape:
        raise ValueError(f"structure needs equal shapes, got {tuple(a.shape)}, {tuple(b.shape)}")
    factor = 1
    while (a.shape[-2] // factor) * (a.shape[-1] // factor) > MAX_STRUCTURE_POINTS:
        factor += 1
    sims = []
    for f in (a, b):
        points = F.normalize(_points(F.avg_pool2d(f, factor) if factor > 1 else f), dim=1)
        s = points @ points.T
        sims.append(s - s.mean())
    sa, sb = sims
    return float((sa * sb).sum() / (sa.norm() * sb.norm()).clamp_min(1e-12))


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float()


class Painting:
    """A painting's judge targets: its colours, and its VGG features at each of
    PAINTING_SCALES of an output's short side (computed once per short side)."""

    def __init__(self, rgb: np.ndarray, judge: Judge):
        self.rgb, self.judge = rgb, judge
        self.colours = lab_points(rgb)
        self.colour_scale = float((self.colours - self.colours.mean(0)).square().sum(1)
                                  .mean().sqrt())
        self._targets: dict[int, list[_Sliced]] = {}

    def targets(self, short_side: int) -> list[_Sliced]:
        """The painting's sliced features at each of PAINTING_SCALES, for outputs of this
        short side (computed once per short side)."""
        if short_side not in self._targets:
            self._targets[short_side] = [_Sliced(self.judge.features(
                resize_short_side(self.rgb, max(32, round(short_side * s)))))
                for s in PAINTING_SCALES]
        return self._targets[short_side]


class Judge:
    """VGG19 features for the judge; ``extra_layers`` are tapped in the same pass (e.g. the
    training's Gram layers, so the old numbers cost no second pass)."""

    def __init__(self, extra_layers: Sequence[str] = ()):
        self.vgg = VGGFeatures((*STYLE_LAYERS, STRUCTURE_LAYER, *extra_layers))

    @torch.no_grad()
    def features(self, rgb: torch.Tensor | np.ndarray) -> dict[str, torch.Tensor]:
        """(1, 3, H, W) float 0..255 or uint8 (H, W, 3) -> {layer: (1, C, h, w)}."""
        return self.vgg(_tensor(rgb) if isinstance(rgb, np.ndarray) else rgb)

    def painting(self, rgb: np.ndarray) -> Painting:
        """The painting's targets (uint8 RGB), to pass to ``style_distance``."""
        return Painting(rgb, self)

    @staticmethod
    def layer_distances(features: dict[str, torch.Tensor], target: dict[str, torch.Tensor],
                        projections: int = PROJECTIONS) -> dict[str, float]:
        """Per-layer SW2 to ``target``'s features, each divided by the target's feature RMS
        (so layers weigh alike and the numbers are unitless)."""
        return _Sliced(features, projections).distances(_Sliced(target, projections))

    @staticmethod
    def colour_distance(rgb: np.ndarray, painting: Painting) -> float:
        """SW2 between the output's and the painting's Lab colours over the painting's spread."""
        dirs = directions(3, COLOUR_PROJECTIONS)
        return float(sliced_wasserstein(lab_points(rgb), painting.colours, dirs)
                     / max(painting.colour_scale, 1e-6))

    def style_distance(self, rgb: np.ndarray, features: dict[str, torch.Tensor],
                       painting: Painting) -> dict[str, float]:
        """Per-layer distances at the best-fitting painting scale, the colour term, and their
        mean under "mean" (lower = closer to the painting)."""
        sliced = _Sliced(features)
        best = min((sliced.distances(target) for target in painting.targets(min(rgb.shape[:2]))),
                   key=lambda d: sum(d.values()))
        out = {**best, COLOUR: self.colour_distance(rgb, painting)}
        out["mean"] = sum(out.values()) / len(out)
        return out

    @staticmethod
    def structure(features: dict[str, torch.Tensor], photo: dict[str, torch.Tensor]) -> float:
        """How much of the photo's layout survives; see ``structure_similarity``."""
        return structure_similarity(features[STRUCTURE_LAYER], photo[STRUCTURE_LAYER])
