"""Training configuration: one frozen dataclass and its named presets (no torch here).

Kept apart from the trainer so the CLI and the wizard can list and validate presets without
loading torch; a checkpoint stores the whole config.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from engine.errors import StudioError, TrainingError
from engine.models.config import DEFAULT_NET_PRESET, config_from_dict, net_preset

CHECKPOINT_NAME = "checkpoint.pt"  # the latest checkpoint in a run folder
METHODS = ("gram", "teacher")
MIN_STROKE, MAX_STROKE = 0.5, 3.0  # stroke size bounds (teacher pairs of 192..1152 px)
MAX_TILES = 64  # teacher tiles per crop (each costs a teacher pass, ~0.1-0.2 s)
INSTANT_INIT = "instant"  # init_from value: start from the painting's instant style


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; stored in every checkpoint."""

    net: str = DEFAULT_NET_PRESET  # network preset (engine.models.config.NET_PRESETS)
    image_size: int = 160  # px, square training crops (multiple of 4)
    batch_size: int = 4  # crops per step
    steps: int = 600  # optimiser steps in total
    lr: float = 1e-3  # Adam learning rate (5e-3 gave black/olive blotches)
    lr_schedule: str = "constant"  # "constant" or "cosine" (decays to LR_FLOOR * lr)
    # Measured on Starry Night with these normalisations: content 1 or 3 turned photos into
    # texture, 30 kept too little of the painting; 10 keeps subjects readable and stroked.
    content_weight: float = 10.0  # weight of the relu2_2 feature MSE
    style_weight: float = 1.0  # weight of the summed Gram MSEs
    tv_weight: float = 10.0  # weight of total variation (squared 0..255 diffs; smooths speckle)
    style_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")  # equal weights
    content_layer: str = "relu2_2"  # deep enough to allow restyling, shallow enough to keep edges
    style_size: int = 256  # px, short side the painting is resized to for its Grams
    # What the network learns from. "gram": Johnson et al.'s losses against the painting's VGG
    # statistics. "teacher": the painting teacher's rendering of each photo crop
    # (engine.training.teacher, .pairs; DistillLoss): strokes and motifs, not a colour grade.
    method: str = "gram"
    # How far from the photo (0 < strength <= 1). gram: scales the style weight. teacher: the
    # teacher's style vector moves from each photo's own towards the painting's (Ghiasi et al.).
    style_strength: float = 1.0
    # The painting's strokes on the photo at 1:1, relative to the default (bigger: larger).
    # gram: the painting is resized to style_size * stroke_size; teacher: see pairs.pair_side.
    stroke_size: float = 1.0
    teacher_pairs: int = 300  # photo crops the teacher paints once per run (~0.2 s each)
    # 0: the teacher paints each crop whole. n: it paints n tiles of each crop, each on its own
    # (pairs.paint_tile; n times the painting time), so its strokes follow what the network
    # sees in a training window.
    teacher_tiles: int = 0
    # Each tile at a random phase of the teacher's 4-px canvas pattern, so the network cannot
    # learn it (pairs.paint_pairs). Off by default: it took Mona Lisa's grid from 6 of 20
    # unseen photos to none, but the teacher's strokes follow that lattice too, and on 10
    # paintings (same seeds and tiles) the judge rose 6% on average (0-18%; one fell 4%).
    tile_phases: bool = False
    # DistillLoss weights, in its units (measured on Starry Night: each term ~0.1 at the start).
    pixel_weight: float = 1.0
    feature_weight: float = 1e-6
    texture_weight: float = 1e-5
    patch_weight: float = 0.0  # losses.patch_distance: strokes of the teacher's kinds, no VGG
    # The last patch_steps steps are a second stage: the patch loss joins the pixel loss and the
    # lr restarts at patch_lr (then its schedule again). Weighted from the first step, the patch
    # loss drew a 4-px grid and lost the layout (Great Wave: SSIM 0.36, judge worse); once the
    # pixel loss has placed colours and shapes, it sharpens strokes. 0 (or a run no longer
    # than the stage, e.g. a short wizard run): the patch loss from the first step.
    patch_steps: int = 0
    patch_lr: float = 1e-3
    grid_weight: float = 0.0  # with the patch loss: losses.grid_distance, against a 4-px grid
    edge_weight: float = 0.0  # with the patch loss: losses.edge_distance, against edge lines
    # With the patch loss: losses.painting_distance, the output's patches against the painting's
    # own (its colours and strokes, which the teacher partly leaves out).
    painting_weight: float = 0.0
    # With the patch loss: Johnson et al.'s Gram style loss (style_layers) against the painting
    # itself at the scale of the teacher's strokes, in these units (~1.4e-7 makes it the pixel
    # term's size at the stage's start). The patch losses compare colour patches; the Grams see
    # the painting's textures as VGG does. Each step then costs VGG passes (~1.5 s at batch 8 on
    # one core, ~25x the stage without), so no preset uses it; three recipes do (20 unseen photos:
    # Great Wave 0.0228 -> 0.0189, session 21; Ejiri 0.0444 -> 0.0378, Composition VIII 0.0442 ->
    # 0.0367, session 22; docs/strokes/README.md).
    gram_weight: float = 0.0
    # With the patch loss: losses.sliced_feature_distance of the whole batch's VGG features
    # (style_layers) to the painting's, beside the Gram term and from the same VGG pass (a step
    # 2.1 s instead of 1.3 at one thread with another run beside it). The Gram term asks every
    # crop for the painting's mix of textures; this asks the batch for the painting's full
    # feature distributions, strong sparse lines included (Great Wave, weight 3: judge 0.0189
    # -> 0.0177 on the 20 test photos, validation 0.0172 -> 0.0145; weight 9: 0.0173, 0.0136;
    # 27 draws a 4-px grid; the Gram term pooled over the batch instead: worse, 0.0216;
    # docs/strokes/README.md).
    sliced_weight: float = 0.0
    # Teacher pairs recoloured to the painting's palette (pairs.match_palette).
    match_palette: bool = False
    # With the patch loss: the output's change under stable_noise grey levels of input noise
    # (Trainer._losses). Off in every preset: it steadies live video but costs the look
    # (Starry Night, 10 unseen photos, judge 0.020 without; weight 1: 0.027, 3: 0.038).
    stable_weight: float = 0.0
    stable_noise: float = 4.0
    preview_every: int = 50  # steps between previews of the validation photo (0: never)
    checkpoint_every: int = 100  # steps between checkpoints (0: only at cancel and the end)
    seed: int = 0  # seeds the network init and the photo sampling
    threads: int = 0  # CPU threads for torch; 0 = all cores
    # Fine-tune from this checkpoint/ONNX of the same preset, or INSTANT_INIT: the instant
    # style of this run's painting (engine.training.instant; needs the painting teacher).
    init_from: str | None = None

    def __post_init__(self) -> None:
        net_preset(self.net)  # raises a StudioError naming the valid presets
        if self.image_size % 4 or self.image_size < 32:
            raise TrainingError(f"image size {self.image_size} must be a multiple of 4, >= 32")
        if self.batch_size < 1 or self.steps < 1 or self.lr <= 0:
            raise TrainingError("batch size, steps and learning rate must be positive")
        if self.method not in METHODS:
            raise TrainingError(f"unknown training method '{self.method}'",
                                hint=f"use one of: {', '.join(METHODS)}")
        if not 0 < self.style_strength <= 1:
            raise TrainingError(f"style strength {self.style_strength} must be in (0, 1]")
        if not MIN_STROKE <= self.stroke_size <= MAX_STROKE:
            raise TrainingError(f"stroke size {self.stroke_size} must be between {MIN_STROKE} "
                                f"and {MAX_STROKE}")
        if (self.patch_steps < 0 or self.patch_lr <= 0 or self.patch_weight < 0
                or self.painting_weight < 0 or self.gram_weight < 0
                or self.sliced_weight < 0):
            raise TrainingError("the patch stage's steps, lr and weight must be positive")
        if not 0 <= self.teacher_tiles <= MAX_TILES:
            raise TrainingError(f"teacher tiles {self.teacher_tiles} must be in 0..{MAX_TILES}")
        for flag in ("match_palette", "tile_phases"):  # a recipe's "no" would read as true
            if not isinstance(getattr(self, flag), bool):
                raise TrainingError(f"{flag} must be true or false, not {getattr(self, flag)!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise TrainingError(f"unknown lr schedule '{self.lr_schedule}'",
                                hint="use 'constant' or 'cosine'")

    @property
    def patch_start(self) -> int:
        """The first step with the patch loss: ``steps`` without one, 0 when it runs throughout."""
        if self.patch_weight == 0:
            return self.steps
        return max(0, self.steps - self.patch_steps) if self.patch_steps else 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return config_from_dict(cls, data)

    @classmethod
    def from_checkpoint(cls, state: dict, path: str | os.PathLike) -> TrainConfig:
        """The config a checkpoint was made with; a TrainingError naming it if that is damaged."""
        try:
            return cls.from_dict(state["train_config"])
        except (TypeError, ValueError, StudioError) as exc:
            detail = exc.message if isinstance(exc, StudioError) else str(exc)
            raise TrainingError(f"{path}: damaged checkpoint (its train_config: {detail})",
                                hint="delete it and train again from the start") from None


TRAIN_PRESETS: dict[str, TrainConfig] = {
    # Small crops, big batch (batch 8 at 128 px reached the look of 400 batch-4 steps in ~30%
    # less time and kept whites better). Measured: 8.5 min on a quiet 2-core CPU, over 70 min
    # on a busy one; the wizard measures this machine before it promises a time.
    "quick": TrainConfig(image_size=128, batch_size=8, steps=300, preview_every=25,
                         checkpoint_every=50),
    # The first recipe's crops (1.0-1.3 s/step on a quiet 2-core CPU), cosine decay to
    # settle the colours (constant lr drifted grey-cyan beyond ~1,100 steps).
    "balanced": TrainConfig(image_size=160, batch_size=4, steps=1200, lr_schedule="cosine"),
    # Distilled from the painting teacher (engine.training.teacher): strokes and motifs rather
    # than a colour grade. The teacher paints 300 crops first (~1 min on a quiet 2-core CPU);
    # then the network learns them with the pixel loss alone (no VGG: ~25x cheaper steps than
    # Gram training, so 4,000 steps cost about what quick's 300 do). Starry Night: 2,000 such
    # steps read as the painting (palette, yellow highlights, brushed sky), faces readable.
    # Then 1,000 steps that add the patch loss (weight 12), which puts back the teacher's
    # strokes that the pixel loss blurs away: on 10 unseen photos it took Starry Night's and
    # Great Wave's judge distance from 0.039 to 0.021 and 0.029 (weights 3 and 6: less; 24: no
    # better), SSIM 0.69 -> 0.48 and 0.61 -> 0.43. It also drew a 4-px grid (2.8-3.9 grey
    # levels on 20 unseen photos); the grid loss (weight 30) takes it to ~0.1 (Great Wave).
    # And a bright 1-2 px line along the top edge (+21-34 grey levels on 11 of 20 photos for
    # Great Wave and Café Terrace): the edge loss (weight 3) charges it (Great Wave: top line
    # within +-15, judge unchanged; weight 30 also undid the stage: judge 0.033 -> 0.044).
    # Session 14: the pairs recoloured to the painting's palette and the patch stage also
    # compared with the painting itself (20 unseen photos, same seed, judge: Great Wave 0.0340
    # -> 0.0243, Church at Auvers 0.0300 -> 0.0253, Starry Night unchanged; the patch stage's
    # steps ~45% slower, the whole run ~14%). Session 15: 11 of the 12 built-ins retrained with
    # it (judge 1-27% lower for 10, Composition VIII 4% higher; Spring kept its model, see its
    # recipe; docs/strokes/README.md). Session 18: the teacher paints 8 tiles of each crop on
    # their own (teacher_tiles; 2,400 teacher passes instead of 300, ~3 min more on 2 cores):
    # Church at Auvers 0.0253 -> 0.0185, Great Wave's recipe (seeds 1-2) 0.0272 -> 0.0224.
    "painted": TrainConfig(method="teacher", image_size=128, batch_size=8, steps=5000,
                           lr=2e-3, lr_schedule="cosine", feature_weight=0.0,
                           texture_weight=0.0, patch_weight=12.0, patch_steps=1000,
                           grid_weight=30.0, edge_weight=3.0, painting_weight=10.0,
                           match_palette=True, teacher_tiles=8, preview_every=250,
                           checkpoint_every=500),
    # The painted recipe started from the painting's instant style instead of from scratch:
    # the instant style already has the painting's palette and light, so fewer teacher crops
    # and steps take it closer to the painting. 800 steps and 120 crops took 0.33-0.34 of
    # quick's time here (docs/instant/README.md), hence these.
    "refine": TrainConfig(method="teacher", init_from=INSTANT_INIT, image_size=128,
                          batch_size=8, steps=500, lr=1e-3, lr_schedule="cosine",
                          feature_weight=0.0, texture_weight=0.0, teacher_pairs=100,
                          preview_every=100, checkpoint_every=250),
    # For a GPU (or patience): larger crops, so strokes match the size the model is used at.
    "best": TrainConfig(image_size=256, batch_size=8, steps=4000, lr_schedule="cosine",
                        preview_every=200, checkpoint_every=500),
}


def default_train_preset() -> str:
    """The preset a new style starts from (wizard and ``tinystyle train``): "painted" where the
    painting teacher is installed (styles that paint rather than grade the photo; about quick's
    time on a CPU), else "quick"."""
    from engine.training.teacher import teacher_installed  # cv2, not torch

    return "painted" if teacher_installed() else "quick"
