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


def patch_distance(output: torch.Tensor, target: torch.Tensor, *, patch: int = 5,
                   projections: int = 16, scales: Sequence[int] = (1, 2, 4),
                   samples: int = 1024) -> torch.Tensor:
    """Sliced Wasserstein distance between the colour patches of two images, per image pair.

    Why: the pixel loss asks for each stroke at its exact place; where the network cannot
    place it, the best it can do is the mean of the strokes, a blur. Comparing the *sorted*
    projections of ``patch`` x ``patch`` colour patches (at 1x, 1/2x and 1/4x, so larger
    strokes count too) asks instead for strokes of the same kinds, contrast and colours
    anywhere in the crop. No VGG: ``samples`` random patches per image and scale (a random
    subset has the same distribution), gathered, projected on ``projections`` random
    directions (drawn afresh each call from torch's RNG) and sorted. 0..255 in and out.
    """
    total = output.new_zeros(())
    for scale in scales:
        a = F.avg_pool2d(output, scale) if scale > 1 else output
        b = F.avg_pool2d(target, scale) if scale > 1 else target
        n, c, h, w = a.shape
        count = min(samples, (h - patch + 1) * (w - patch + 1))
        ys = torch.randint(0, h - patch + 1, (count,), device=a.device)
        xs = torch.randint(0, w - patch + 1, (count,), device=a.device)
        steps = torch.arange(patch, device=a.device)
        offsets = (steps[:, None] * w + steps[None, :]).flatten()  # (patch * patch,)
        where = (offsets[:, None] + (ys * w + xs)[None, :]).flatten()  # one gather per image
        a_patches = a.flatten(2)[:, :, where].reshape(n, c * patch * patch, count)
        b_patches = b.flatten(2)[:, :, where].reshape(n, c * patch * patch, count)
        directions = torch.randn(projections, c * patch * patch, device=a.device)
        directions = directions / directions.norm(dim=1, keepdim=True)
        a_proj = (directions @ a_patches).sort(dim=2).values  # (N, projections, count)
        b_proj = (directions @ b_patches).sort(dim=2).values
        total = total + F.l1_loss(a_proj, b_proj)
    return total / len(scales)


def painting_distance(output: torch.Tensor, painting: torch.Tensor) -> torch.Tensor:
    """``patch_distance`` between the batch's outputs and as many random windows of the
    painting itself ((3, H, W), 0..255, at the scale its strokes should have): the outputs
    laid side by side as one strip, the windows as another.

    Why: the teacher keeps much of the photo's palette and repaints it in strokes (Great Wave:
    ochre and orange where the painting is cream and Prussian blue), and the pixel and patch
    losses teach the network exactly that. Against the painting's own windows, the output's
    patches are asked to be of the painting's colours and kinds as well. Strips rather than
    pairs: one window holds only part of the painting (sky or wave), the batch's together hold
    more of it, and so do the outputs (the few patches across the joins do not matter).
    """
    n, _, h, w = output.shape
    tops = torch.randint(0, painting.shape[1] - h + 1, (n,)).tolist()
    lefts = torch.randint(0, painting.shape[2] - w + 1, (n,)).tolist()
    windows = [painting[:, top:top + h, left:left + w] for top, left in
               zip(tops, lefts, strict=True)]
    return patch_distance(torch.cat(list(output), 2)[None], torch.cat(windows, 2)[None],
                          samples=512 * n)


def grid_distance(output: torch.Tensor, target: torch.Tensor, period: int = 4) -> torch.Tensor:
    """RMS of the part of ``output - target`` that repeats every ``period`` px (0..255 units).

    The fast networks' stride-2 stem and pixel-shuffle output make a 4-px grid the cheapest
    texture they can draw; the patch loss alone rewarded it (grid check 0.03 -> 2.8 grey levels
    on Starry Night). Averaging the residual over all positions with the same (y, x) mod
    ``period`` leaves exactly such a stamped pattern (``artefacts.grid_energy``'s idea).
    """
    n, c, h, w = output.shape
    h, w = h - h % period, w - w % period
    residual = (output - target)[..., :h, :w]
    phases = residual.reshape(n, c, h // period, period, w // period, period).mean(dim=(2, 4))
    return (phases - phases.mean(dim=(2, 3), keepdim=True)).square().mean().add(1e-8).sqrt()


def edge_distance(output: torch.Tensor, target: torch.Tensor, band: int = 4) -> torch.Tensor:
    """RMS of a line along each edge in ``output - target`` (0..255 units): the residual's
    mean along each of the outer ``band`` rows (columns) and over the batch, minus its mean
    over the ``band`` rows (columns) just inside them.

    The zero padding tells the network where the border is, so a line there is the one thing
    it can place exactly; the patch loss, which wants brighter and darker values somewhere,
    got them from a 1-2 px line along the top (+21-34 grey levels on 11 of 20 photos) that
    the pixel loss barely charges (one row of 128). A line is what stays at the same edge in
    every image: means along the edge, over the batch and against the rows inside leave it and
    average away strokes that merely differ from the teacher's at the border.
    """
    residual = output - target
    lines = []
    for edge in (residual, residual.flip(2), residual.transpose(2, 3),
                 residual.transpose(2, 3).flip(2)):  # top, bottom, left, right as "top"
        rows = edge[..., : 2 * band, :].mean(dim=(0, 3))  # (C, 2 * band)
        lines.append(rows[:, :band] - rows[:, band:].mean(1, keepdim=True))
    return torch.cat(lines, dim=1).square().mean().add(1e-8).sqrt()


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


def sliced_feature_distance(features: torch.Tensor, target: torch.Tensor,
                            samples: int = 8192, projections: int = 128) -> torch.Tensor:
    """Sliced Wasserstein distance (squared, Heitz et al. 2021) between the feature vectors of a
    whole batch ((N, C, H, W), pooled) and the target's ((C, M) points), along at most
    ``projections`` random directions drawn afresh each call; ``samples`` random points of each
    side are compared (a random subset has the same distribution, and the sorts were most of
    the cost: 3.5 s a step at batch 8 with every point and C directions).

    Why pooled: one window of the painting holds sky or wave, not the whole picture, so its
    own statistics are far from the painting's (per window, a Gram loss ranks the painting's
    windows no better than a photo's); the batch's crops together can hold what the painting
    holds. Why sliced: a Gram matrix keeps second moments only; each direction's whole
    distribution also asks for the painting's strong, sparse responses (its lines and motifs).
    It joins the per-crop Gram term rather than replacing it (docs/strokes, session 23).
    """
    n, c, h, w = features.shape
    points = features.transpose(0, 1).reshape(c, n * h * w)
    if points.shape[1] > samples:
        points = points[:, torch.randint(0, points.shape[1], (samples,), device=points.device)]
    directions = torch.randn(c, min(c, projections), device=features.device)
    directions = directions / directions.norm(dim=0, keepdim=True)
    picks = torch.randint(0, target.shape[1], (points.shape[1],), device=features.device)
    wanted = (directions.T @ target[:, picks]).sort(dim=1).values
    got = (directions.T @ points).sort(dim=1).values
    return F.mse_loss(got, wanted)


class PaintingStyleLoss(torch.nn.Module):
    """An output's VGG statistics against one painting's, from one VGG pass: the Gram loss
    (``style_loss``) and ``sliced_feature_distance``, each summed over ``layers``; unweighted."""

    def __init__(self, painting_rgb: torch.Tensor, layers: Sequence[str]):
        super().__init__()
        self.layers = tuple(layers)
        self.vgg = VGGFeatures(self.layers)
        with torch.no_grad():
            feats = self.vgg(painting_rgb)
        for layer in self.layers:  # buffers, so .to(device) moves them with the module
            self.register_buffer(f"gram_{layer}", gram(feats[layer]), persistent=False)
            points = feats[layer][0].flatten(1)
            self.register_buffer(f"points_{layer}", points, persistent=False)
            # the sliced term over the painting's mean square, so that layers weigh alike
            self.register_buffer(f"power_{layer}", points.square().mean(), persistent=False)

    def forward(self, output: torch.Tensor, *, grams: bool = True, sliced: bool = True
                ) -> dict[str, torch.Tensor]:
        """``{"gram", "sliced"}``, the ones asked for."""
        feats, parts = self.vgg(output), {}
        if grams:
            targets = {layer: getattr(self, f"gram_{layer}") for layer in self.layers}
            parts["gram"] = style_loss(feats, targets)
        if sliced:
            parts["sliced"] = sum(
                sliced_feature_distance(feats[layer], getattr(self, f"points_{layer}"))
                / getattr(self, f"power_{layer}") for layer in self.layers)
        return parts


class DistillLoss(torch.nn.Module):
    """Losses against the teacher's painting of each crop (``engine.training.pairs``).

    ``pixel`` (mean absolute difference, 0..1 units) pins colour, layout and, given enough
    steps, the strokes themselves. ``feature`` (VGG feature MSE at FEATURE_LAYERS) and
    ``texture`` (Gram MSE at TEXTURE_LAYERS, the painting of *this* crop as the target) ask for
    strokes of the teacher's kind where their exact position does not matter, but the VGG passes
    cost ~25x the tiny network's step on a CPU; with ``vgg=False`` only ``pixel`` is computed,
    and the same CPU time buys 25x more steps (measured on Starry Night: 2,000 pixel-only steps
    painted more than 700 with VGG). ``patch`` (``patches=True``: ``patch_distance`` to the
    same painting) asks for the teacher's strokes without VGG, at about the pixel loss's cost;
    with it, ``grid`` and ``edge`` charge the two artefacts it otherwise draws, and, given the
    ``painting`` itself ((3, H, W) 0..255), ``painting`` asks for its colours and strokes
    (``painting_distance``). No TV term: it would fight the teacher's strokes. Unweighted; the
    config weighs them.
    """

    FEATURE_LAYERS = ("relu2_2", "relu3_1")
    TEXTURE_LAYERS = ("relu1_1", "relu2_1", "relu3_1")

    def __init__(self, vgg: bool = True, painting: torch.Tensor | None = None) -> None:
        super().__init__()
        self.vgg = VGGFeatures((*self.TEXTURE_LAYERS, *self.FEATURE_LAYERS)) if vgg else None
        # the painting itself, not the teacher's painting of a crop (forward's ``painting``)
        self.register_buffer("original", painting, persistent=False)

    def forward(self, output: torch.Tensor, painting: torch.Tensor, *, patches: bool = False
                ) -> dict[str, torch.Tensor]:
        parts = {"pixel": F.l1_loss(output, painting) / 255}
        if patches:
            parts["patch"] = patch_distance(output, painting) / 255
            parts["grid"] = grid_distance(output, painting) / 255
            parts["edge"] = edge_distance(output, painting) / 255
            if self.original is not None:
                parts["painting"] = painting_distance(output, self.original) / 255
        if self.vgg is None:
            return parts
        with torch.no_grad():
            target = self.vgg(painting)
        feats = self.vgg(output)
        parts["feature"] = sum(F.mse_loss(feats[k], target[k]) for k in self.FEATURE_LAYERS)
        parts["texture"] = sum(F.mse_loss(gram(feats[k]), gram(target[k]))
                               for k in self.TEXTURE_LAYERS)
        return parts
