"""What a training step compares the network's output with: one class per ``TrainConfig.method``.

``GramObjective`` is Johnson et al.'s: the photo's VGG content and the painting's Grams.
``TeacherObjective`` distils the painting teacher: each photo crop's target is the teacher's
painting of it (``engine.training.pairs``). Both give the trainer the same two calls, so it
stays one loop: ``batch(step, rows)`` -> (inputs, targets) and ``losses(output, inputs,
targets, step)`` -> the weighted losses (row means), which sum to what is minimised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from engine.training.config import TrainConfig
from engine.training.data import ContentPhotos, resize_short_side
from engine.training.losses import DistillLoss, PaintingStyleLoss, PerceptualLoss
from engine.training.pairs import (
    MAX_SCALE,
    PAIRS_NAME,
    TeacherPairs,
    match_palette,
    paint_pairs,
    pair_side,
)

log = logging.getLogger(__name__)


class GramObjective(torch.nn.Module):
    """Content of the photo, Grams of the painting (its short side style_size * stroke_size)."""

    def __init__(self, config: TrainConfig, painting: np.ndarray, data: ContentPhotos) -> None:
        super().__init__()
        self.config, self.data = config, data
        style = resize_short_side(painting, round(config.style_size * config.stroke_size))
        self.loss = PerceptualLoss(style, config.style_layers, config.content_layer)

    def batch(self, step: int, rows: slice | None) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        photos = self.data.batch(step, cfg.batch_size, cfg.seed, rows)
        return photos, photos

    def losses(self, output: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor,
               step: int) -> dict[str, torch.Tensor]:
        cfg, parts = self.config, self.loss(output, targets)
        return {"content": cfg.content_weight * parts["content"],
                "style": cfg.style_weight * cfg.style_strength * parts["style"],
                "tv": cfg.tv_weight * parts["tv"]}


class TeacherObjective(torch.nn.Module):
    """The teacher's painting of each crop; pairs painted once and cached in the run folder."""

    def __init__(self, config: TrainConfig, painting: np.ndarray, data: ContentPhotos,
                 run_dir: Path, device: torch.device,
                 painted: Callable[[int, int], None] = lambda done, total: None) -> None:
        super().__init__()
        self.config = config
        side = pair_side(config.stroke_size)
        at_stroke_scale = resize_short_side(painting, side)  # the scale of the teacher's strokes
        self.loss = DistillLoss(vgg=config.feature_weight > 0 or config.texture_weight > 0,
                                painting=at_stroke_scale[0] if config.painting_weight else None)
        self.style = None  # the painting's VGG statistics, for gram_weight and sliced_weight
        if config.gram_weight or config.sliced_weight:
            self.style = PaintingStyleLoss(at_stroke_scale, config.style_layers)

        def paint() -> tuple[np.ndarray, np.ndarray]:
            from engine.training.teacher import PaintingTeacher

            teacher = PaintingTeacher(painting, threads=config.threads or None)
            size = round(side * MAX_SCALE)  # the largest crop scale draws ever need
            photos = [data.photo(i, size)[0].permute(1, 2, 0).round().byte().cpu().numpy()
                      for i in range(len(data))]
            log.info("the teacher paints %d crops of %d px%s", config.teacher_pairs, side,
                     f", {config.teacher_tiles} tiles each" if config.teacher_tiles else "")
            crops, paintings = paint_pairs(photos, teacher, config.teacher_pairs,
                                           config.stroke_size, config.style_strength,
                                           config.seed, painted, tiles=config.teacher_tiles,
                                           window=config.image_size, phases=config.tile_phases)
            if config.match_palette:
                paintings = match_palette(paintings, painting)
            return crops, paintings

        self.pairs = TeacherPairs.load_or_paint(run_dir / PAIRS_NAME, paint, config.image_size,
                                                device)

    def batch(self, step: int, rows: slice | None) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        return self.pairs.batch(step, cfg.batch_size, cfg.seed, rows)

    def losses(self, output: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor,
               step: int) -> dict[str, torch.Tensor]:
        cfg = self.config
        weights = {"pixel": cfg.pixel_weight, "feature": cfg.feature_weight,
                   "texture": cfg.texture_weight, "patch": cfg.patch_weight,
                   "grid": cfg.grid_weight, "edge": cfg.edge_weight,
                   "painting": cfg.painting_weight}
        parts = self.loss(output, targets, patches=step >= cfg.patch_start)
        if cfg.patch_weight and "patch" not in parts:  # before the patch stage: same names
            stage = ("patch", "grid", "edge", "painting") if cfg.painting_weight else (
                "patch", "grid", "edge")
            parts.update(dict.fromkeys(stage, output.new_zeros(())))
        weighted = {name: weights[name] * part for name, part in parts.items()}
        if self.style is not None:
            stage = step >= cfg.patch_start
            style = self.style(output, grams=cfg.gram_weight > 0,
                               sliced=cfg.sliced_weight > 0) if stage else {}
            for name, weight in (("gram", cfg.gram_weight), ("sliced", cfg.sliced_weight)):
                if weight:  # before the stage: the same names
                    weighted[name] = weight * style[name] if stage else output.new_zeros(())
        return weighted
