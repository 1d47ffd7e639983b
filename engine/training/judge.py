"""A style judge that sees strokes and motifs, and a content measure that sees layout.

Style distance: the sliced Wasserstein distance (Heitz et al. 2021, "A Sliced Wasserstein Loss
for Neural Texture Synthesis") between the distributions of VGG19 features at relu3_1, relu4_1
and relu5_1 of an image and of the painting, the painting resized to the image's short side (so
its strokes and motifs are as big relative to the frame as on the output). Why not the training
Grams: they are uncentred second moments of relu1_1..relu4_1, dominated by palette and fine
texture, so a colour grade with hatching scores as well as real strokes (issue #18). The deeper
layers see 24, 68 and 156 px neighbourhoods (strokes, swirls, woodcut lines), and comparing whole
1-D distributions along many directions keeps what second moments average away: a painting's
features are multimodal (stroke vs. ground, motif vs. sky).

Content: correlation between the cosine self-similarity matrices of the relu4_1 features of the
output and of the photo (after Kolkin et al. 2019, STROTSS). Re-painting changes every feature
but keeps which regions resemble which, so a stylized photo with readable subjects stays well
above a destroyed one, and the photo itself scores 1. Read it next to SSIM: high SSIM means
"unchanged", low SSIM with high structure means "repainted, still readable".

Everything is deterministic: the projection directions come from a fixed seed per layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import torch
import torch.nn.functional as F

from engine.training.vgg import VGGFeatures

STYLE_LAYERS = ("relu3_1", "relu4_1", "relu5_1")
STRUCTURE_LAYER = "relu4_1"
PROJECTIONS = 512  # random directions per layer: within 3% of 2,048 (256 strayed 6%)
SEED = 18  # projection directions are a pure function of (seed, layer width, count)
MAX_STRUCTURE_POINTS = 1600  # feature positions in the self-similarity matrix (pooled above)


@cache
def directions(channels: int, count: int = PROJECTIONS, seed: int = SEED) -> torch.Tensor:
    """(channels, count) unit vectors, drawn once from a fixed seed."""
    gen = torch.Generator().manual_seed(seed * 100_003 + channels)
    d = torch.randn(channels, count, generator=gen)
    return d / d.norm(dim=0, keepdim=True)


def _quantiles(sorted_values: torch.Tensor, k: int) -> torch.Tensor:
    """(n, P) column-sorted values -> (k, P) at k evenly spaced quantiles (linear interpolation),
    so distributions with different numbers of points can be compared."""
    n = sorted_values.shape[0]
    pos = torch.linspace(0, n - 1, k, device=sorted_values.device)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    w = (pos - lo)[:, None]
    return sorted_values[lo] * (1 - w) + sorted_values[hi] * w


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """SW2 between point clouds x (N, C) and y (M, C) along the columns of ``dirs`` (C, P):
    root mean squared difference of matched quantiles, averaged over directions."""
    px = (x @ dirs).sort(dim=0).values
    py = (y @ dirs).sort(dim=0).values
    k = min(px.shape[0], py.shape[0])
    return (_quantiles(px, k) - _quantiles(py, k)).square().mean().sqrt()


def _points(features: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) -> (H*W, C) feature vectors."""
    return features[0].flatten(1).T


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


class Judge:
    """VGG19 features for the judge; ``extra_layers`` are tapped in the same pass (e.g. the
    training's Gram layers, so the old numbers cost no second pass)."""

    def __init__(self, extra_layers: Sequence[str] = ()):
        self.vgg = VGGFeatures((*STYLE_LAYERS, STRUCTURE_LAYER, *extra_layers))

    @torch.no_grad()
    def features(self, rgb: torch.Tensor) -> dict[str, torch.Tensor]:
        """(1, 3, H, W) float 0..255 -> {layer: (1, C, h, w)} for every tapped layer."""
        return self.vgg(rgb)

    @staticmethod
    def style_distance(
        features: dict[str, torch.Tensor], painting: dict[str, torch.Tensor],
        projections: int = PROJECTIONS,
    ) -> dict[str, float]:
        """Per-layer SW2 to the painting's features, each divided by the painting's feature RMS
        (so layers weigh alike and the numbers are unitless), and their mean under "mean"."""
        out = {}
        for layer in STYLE_LAYERS:
            x, y = _points(features[layer]), _points(painting[layer])
            scale = y.square().mean().sqrt().clamp_min(1e-12)
            dirs = directions(y.shape[1], projections).to(y.device)
            out[layer] = float(sliced_wasserstein(x, y, dirs) / scale)
        out["mean"] = sum(out[layer] for layer in STYLE_LAYERS) / len(STYLE_LAYERS)
        return out

    @staticmethod
    def structure(features: dict[str, torch.Tensor], photo: dict[str, torch.Tensor]) -> float:
        """How much of the photo's layout survives; see ``structure_similarity``."""
        return structure_similarity(features[STRUCTURE_LAYER], photo[STRUCTURE_LAYER])
