"""Perceptual losses of Johnson et al. (2016): content and style from VGG features, plus TV.

All images are float RGB 0..255 ``(N, 3, H, W)``; features are ``(N, C, H, W)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from engine.training.vgg import VGGFeatures


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix G = F Fᵀ / (C·H·W): (N, C, H, W) -> (N, C, C), independent of image size."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE between feature maps of the output and of the content photo."""
    return F.mse_loss(features, target)


def style_loss(
    features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Sum over the style layers of the MSE between Grams; targets are (1, C, C), broadcast."""
    total = features[next(iter(target_grams))].new_zeros(())
    for layer, target in target_grams.items():
        g = gram(features[layer])
        total = total + F.mse_loss(g, target.expand_as(g))
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbouring pixels (0..255 units).

    Squared, in pixel units, so that a weight of ~10 is a few percent of the perceptual losses:
    enough to suppress single-pixel speckle without blurring strokes.
    """
    dx = (image[..., :, 1:] - image[..., :, :-1]).square().mean()
    dy = (image[..., 1:, :] - image[..., :-1, :]).square().mean()
    return dx + dy


class PerceptualLoss(torch.nn.Module):
    """Unweighted content, style and TV losses against one fixed style image.

    The style image's Grams are computed once here (not every step). ``forward(output, content)``
    returns ``{"content", "style", "tv"}`` scalars; weighting is the caller's job.
    """

    def __init__(self, style_rgb: torch.Tensor, style_layers: Sequence[str], content_layer: str):
        super().__init__()
        self.style_layers = tuple(style_layers)
        self.content_layer = content_layer
        self.vgg = VGGFeatures((*self.style_layers, content_layer))
        self.set_style(style_rgb)

    @torch.no_grad()
    def set_style(self, style_rgb: torch.Tensor) -> None:
        """Precompute the target Grams from a (1, 3, H, W) 0..255 style image."""
        feats = self.vgg(style_rgb.to(self.vgg.bgr_means.device))
        for layer in self.style_layers:  # buffers, so .to(device) moves them with the module
            self.register_buffer(f"gram_{layer}", gram(feats[layer]), persistent=False)

    @property
    def target_grams(self) -> dict[str, torch.Tensor]:
        """The style image's Grams, (1, C, C) per style layer."""
        return {layer: getattr(self, f"gram_{layer}") for layer in self.style_layers}

    def forward(self, output: torch.Tensor, content: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            target = self.vgg(content, until=self.content_layer)[self.content_layer]
        feats = self.vgg(output)
        return {
            "content": content_loss(feats[self.content_layer], target),
            "style": style_loss(feats, self.target_grams),
            "tv": tv_loss(output),
        }


class DistillLoss(torch.nn.Module):
    """Losses against the teacher's painting of each crop (``engine.training.pairs``).

    ``pixel`` (mean absolute difference, 0..1 units) pins colour, layout and, given enough
    steps, the strokes themselves. ``feature`` (VGG feature MSE at FEATURE_LAYERS) and
    ``texture`` (Gram MSE at TEXTURE_LAYERS, the painting of *this* crop as the target) ask for
    strokes of the teacher's kind where their exact position does not matter, but the VGG passes
    cost ~25x the tiny network's step on a CPU; with ``vgg=False`` only ``pixel`` is computed,
    and the same CPU time buys 25x more steps (measured on Starry Night: 2,000 pixel-only steps
    painted more than 700 with VGG). No TV term: it would fight the teacher's strokes.
    Unweighted; the config weighs them.
    """

    FEATURE_LAYERS = ("relu2_2", "relu3_1")
    TEXTURE_LAYERS = ("relu1_1", "relu2_1", "relu3_1")

    def __init__(self, vgg: bool = True) -> None:
        super().__init__()
        self.vgg = VGGFeatures((*self.TEXTURE_LAYERS, *self.FEATURE_LAYERS)) if vgg else None

    def forward(self, output: torch.Tensor, painting: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = {"pixel": F.l1_loss(output, painting) / 255}
        if self.vgg is None:
            return parts
        with torch.no_grad():
            target = self.vgg(painting)
        feats = self.vgg(output)
        parts["feature"] = sum(F.mse_loss(feats[k], target[k]) for k in self.FEATURE_LAYERS)
        parts["texture"] = sum(F.mse_loss(gram(feats[k]), gram(target[k]))
                               for k in self.TEXTURE_LAYERS)
        return parts
