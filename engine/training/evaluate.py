"""Score style models on photos: the training losses at a fixed size, and SSIM to the photo.

Style and content losses use the same VGG layers and normalisation as training (unweighted), so
numbers compare across models and runs; SSIM (Wang et al. 2004) on luminance measures how much
of the photo's structure survives.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import ImageFormatError, StudioError
from engine.io.images import find_images, load_image
from engine.training.data import resize_short_side
from engine.training.losses import PerceptualLoss

SSIM_WINDOW = 11  # px, gaussian window of the standard SSIM
SSIM_SIGMA = 1.5
SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # stabilisers for 8-bit images


@dataclass(frozen=True)
class EvalResult:
    model: str  # as given (style name or path)
    style_loss: float  # mean over photos, unweighted
    content_loss: float  # mean over photos, unweighted
    ssim: float  # mean luminance SSIM between stylized and original photo, -1..1
    images: int  # photos scored

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


def _photos(content: str | os.PathLike, size: int, limit: int | None) -> list[np.ndarray]:
    """Readable photos from ``content``, short side ``size`` (multiple of 4), uint8 HxWx3."""
    out = []
    for path in find_images([content]):
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


def evaluate_models(
    models: Sequence[str | os.PathLike],
    content: str | os.PathLike,
    style_image: str | os.PathLike,
    *,
    size: int = 256,
    limit: int | None = None,
) -> list[EvalResult]:
    """Stylize each photo with each model (ONNX Runtime) and score it; one result per model."""
    from engine.runtime.stylizer import Stylizer
    from engine.styles import find_style
    from engine.training.trainer import TrainConfig, load_style_image

    config = TrainConfig()  # the default layers and style size are what training optimises
    criterion = PerceptualLoss(load_style_image(style_image, config.style_size),
                               config.style_layers, config.content_layer)
    photos = _photos(content, size, limit)
    results = []
    for model in models:
        stylizer = Stylizer(find_style(model).path)
        scores = []
        for rgb in photos:
            out = stylizer.stylize(rgb)
            with torch.no_grad():
                losses = criterion(_tensor(out), _tensor(rgb))
            scores.append((losses["style"].item(), losses["content"].item(), ssim(out, rgb)))
        style_loss, content_loss, mean_ssim = np.mean(scores, axis=0).tolist()
        results.append(EvalResult(str(model), style_loss, content_loss, mean_ssim, len(photos)))
    return results


