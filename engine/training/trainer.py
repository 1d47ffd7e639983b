"""Train a style network on one painting (Johnson et al. 2016 perceptual losses).

``Trainer(config, style_image, content, run_dir, callbacks, cancel).run()`` trains, checkpoints,
exports the ONNX model with its card and a preview sheet. It reports through
``engine.progress.TrainCallbacks`` and polls ``CancelToken`` every step. No Qt, no printing.

Under ``torchrun`` the same run is one of several DDP processes (``engine.training.distributed``):
each makes its rows of every batch, only rank 0 reports, checkpoints and exports.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from engine.card import ModelCard
from engine.errors import Cancelled, ImageFormatError, TrainingError
from engine.io import paths
from engine.io.images import load_image, save_image
from engine.models.config import ModelConfig, net_preset
from engine.models.transformer import TransformerNet
from engine.progress import CancelToken, TrainCallbacks
from engine.training import distributed
from engine.training.checkpoint import (
    capture_rng_states,
    load_checkpoint,
    load_resumable,
    restore_rng_states,
    save_checkpoint,
)
from engine.training.config import CHECKPOINT_NAME, INSTANT_INIT, TrainConfig
from engine.training.data import ContentPhotos, resize_short_side
from engine.training.objectives import GramObjective, TeacherObjective
from engine.training.pairs import pair_side

if TYPE_CHECKING:
    from engine.styles import Style

log = logging.getLogger(__name__)

PREVIEW_SIZE = 256  # px, short side of the validation photo shown during training
SHEET_TILE = 192  # px, square tiles of the final preview sheet
SHEET_PHOTOS = 3  # photos on the preview sheet
LR_FLOOR = 0.1  # the cosine schedule ends at this fraction of lr
# What a patch-stage step costs in pixel-stage steps (painted preset, batch 8 at 128 px, one
# thread: 166 vs 51 ms); the ETA assumes it until the stage's own steps have been timed.
PATCH_STEP_COST = 3.2


@dataclass(frozen=True)
class TrainResult:
    onnx_path: Path
    checkpoint_path: Path
    preview_path: Path  # the preview sheet PNG
    steps: int
    style_image: Path | None = None  # the painting, for the style's thumbnail
    card: ModelCard | None = None


def pick_device() -> torch.device:
    """CUDA, else Apple MPS, else the CPU; under torchrun this rank's GPU or the CPU."""
    return distributed.pick_device()


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """Use ``threads`` CPU threads (0: all cores, or this process's share of them under
    torchrun) for the run, then restore the old setting."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads or distributed.cpu_threads())
    try:
        yield
    finally:
        torch.set_num_threads(old)


def lr_at(config: TrainConfig, step: int) -> float:
    """Learning rate for ``step`` (0-based): a pure function, so resuming needs no state.
    A patch stage (``config.patch_steps``) restarts the schedule at ``config.patch_lr``."""
    start = config.patch_start
    if config.patch_steps and step >= start:
        lr, step, length = config.patch_lr, step - start, config.steps - start
    else:
        lr, length = config.lr, start if config.patch_steps else config.steps
    if config.lr_schedule == "constant":
        return lr
    t = step / max(1, length - 1)
    return lr * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * t)))


def eta_seconds(config: TrainConfig, step: int, pixel_s: float | None,
                patch_s: float | None) -> float:
    """Seconds left after ``step`` steps, from the smoothed seconds per step of the pixel and
    the patch stage (None: that stage not timed yet; at least one is).

    Why per stage: the patch stage's steps are ~3x slower, so an ETA from the first (pixel)
    steps alone promised the painted preset ~30% too little time.
    """
    pixel_left = max(0, min(config.patch_start, config.steps) - step)
    patch_left = config.steps - step - pixel_left
    if pixel_s is None:
        pixel_s = patch_s / PATCH_STEP_COST
    if patch_s is None:
        patch_s = pixel_s * PATCH_STEP_COST
    return pixel_left * pixel_s + patch_left * patch_s


def to_rgb(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) float 0..255 -> uint8 HxWx3."""
    return image[0].detach().clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()


def credit_teacher(description: str, config: TrainConfig) -> str:
    """A distilled style's card also names the network that painted its training targets."""
    if config.method != "teacher":
        return description
    from engine.training.teacher import CREDIT

    return f"{description}; distilled from {CREDIT}"


def load_painting(path: str | os.PathLike) -> np.ndarray:
    """The painting as uint8 HxWx3 RGB; TrainingError if it is not a readable image."""
    try:
        return load_image(path).rgb
    except ImageFormatError as exc:
        raise TrainingError(f"style image {exc.message}", hint="choose a JPEG or PNG painting") \
            from None


def load_style_image(path: str | os.PathLike, size: int) -> torch.Tensor:
    """The painting as float (1, 3, h, w) 0..255 with short side ``size``; TrainingError if bad."""
    return resize_short_side(load_painting(path), size)


class Trainer:
    """One training run in ``run_dir``; see the module docstring. ``resume`` continues it.

    ``card`` (optional) carries the style's credits (title, artist, year, painting_source,
    description) into the exported model's card; name, preset and steps come from the run.
    """

    def __init__(
        self,
        config: TrainConfig,
        style_image: str | os.PathLike,
        content: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
        run_dir: str | os.PathLike | None = None,
        callbacks: TrainCallbacks | None = None,
        cancel: CancelToken | None = None,
        *,
        name: str | None = None,
        title: str = "",
        resume: bool = False,
        device: torch.device | str | None = None,
        card: ModelCard | None = None,
    ):
        self.config = config
        self.style_image = Path(style_image)
        self.content = content
        self.name = name or (Path(run_dir).name if run_dir else self.style_image.stem)
        if run_dir is None:  # the name becomes a folder: no '..', no separators
            from engine.styles import check_name

            check_name(self.name)
        self.title = title  # shown on the style's card and in the gallery ("" shows the name)
        self.run_dir = Path(run_dir) if run_dir else paths.user_runs_dir() / self.name
        self.callbacks = callbacks or TrainCallbacks()
        self.cancel = cancel or CancelToken()
        self.resume = resume
        self.device = torch.device(device) if device else pick_device()
        self.checkpoint_path = self.run_dir / CHECKPOINT_NAME
        self.credits = card
        self._dark = ("", 0)  # the near-black guard's (colour, allowance), fitted at the end
        self.world = distributed.World(device=self.device)  # replaced while run() runs

    def run(self) -> TrainResult:
        with distributed.join(self.device) as self.world, _torch_threads(self.config.threads):
            self._setup()
            self._loop()
            return self._finish()

    # -- setup ---------------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg, dev = self.config, self.device
        painting = load_painting(self.style_image)
        resumed = load_resumable(self.checkpoint_path) if self.resume else None
        if resumed:
            self._check_compatible(resumed)
        # before the teacher paints its crops: a start of the wrong shape fails in a second
        start = None if resumed else _start_weights(cfg, painting)
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.rows = self.world.rows(cfg.batch_size)  # this process's rows of every batch
        self.share = (self.rows.stop - self.rows.start) / cfg.batch_size
        if not self.world.is_main:
            self.callbacks = TrainCallbacks()  # rank 0 reports for the whole run
        # teacher pairs are cut from photos kept up to twice their side (ContentPhotos' cap)
        keep = cfg.image_size if cfg.method == "gram" else pair_side(cfg.stroke_size)
        self.data = ContentPhotos(self.content, keep, device=dev, cancel=self.cancel)
        self.objective = self._objective(painting).to(dev)
        torch.manual_seed(cfg.seed)
        self.net = TransformerNet(net_preset(cfg.net)).to(dev)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.step = 0
        self._validation: torch.Tensor | None = None
        self._saved_step = -1
        if resumed:
            self.net.load_state_dict(resumed["model"])
            self.optimizer.load_state_dict(resumed["optimizer"])
            restore_rng_states(resumed["rng"])
            self.step = int(resumed["step"])
            log.info("resuming %s at step %d", self.checkpoint_path, self.step)
        elif start is not None:
            self.net.load_state_dict(start)
        self.model = self.world.wrap(self.net)  # DDP over several processes; the net alone

    def _objective(self, painting: np.ndarray) -> GramObjective | TeacherObjective:
        """What each step compares the output with (``TrainConfig.method``)."""
        cfg = self.config
        if cfg.method == "gram":
            return GramObjective(cfg, painting, self.data)

        def painted(done: int, total: int) -> None:
            self.callbacks.on_setup(done, total, "painting training targets")
            self.cancel.raise_if_cancelled()

        return TeacherObjective(cfg, painting, self.data, self.run_dir, self.device, painted)

    def _check_compatible(self, state: dict) -> None:
        """Only the run length and reporting may change on resume; the rest must match."""
        free = {"steps", "preview_every", "checkpoint_every", "threads"}
        now = TrainConfig.from_checkpoint(state, self.checkpoint_path).to_dict()
        diff = [k for k, v in self.config.to_dict().items() if k not in free and now.get(k) != v]
        if diff:
            raise TrainingError(
                f"{self.checkpoint_path}: made with different settings ({', '.join(diff)})",
                hint="resume with the checkpoint's settings or start a new run")

    # -- training ------------------------------------------------------------------------------

    def _loop(self) -> None:
        cfg = self.config
        avg_s: dict[bool, float] = {}  # smoothed seconds per step, by stage (True: patch)
        while self.step < cfg.steps:
            if self._cancelled():
                path = self._checkpoint()
                self.world.barrier()  # no rank leaves before rank 0 has written it
                raise Cancelled(f"training cancelled at step {self.step}; "
                                f"checkpoint saved to {path}")
            patch = self.step >= cfg.patch_start
            started = time.perf_counter()
            losses = self._train_step()
            self.step += 1
            took = time.perf_counter() - started
            avg_s[patch] = 0.9 * avg_s[patch] + 0.1 * took if patch in avg_s else took
            self.callbacks.on_progress(
                self.step, cfg.steps, losses, cfg.batch_size / avg_s[patch],
                eta_seconds(cfg, self.step, avg_s.get(False), avg_s.get(True)))
            if cfg.preview_every and self.step % cfg.preview_every == 0 and self.world.is_main:
                self.callbacks.on_preview(self.step, self.preview())
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self._checkpoint()

    def _cancelled(self) -> bool:
        """Whether to stop before the next step (``CancelToken.check`` blocks while paused).
        Under DDP every rank stops at the same step if any one was cancelled."""
        try:
            self.cancel.check()
        except Cancelled:
            return self.world.any(True)
        return self.world.any(False)

    def _train_step(self) -> dict[str, float]:
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(cfg, self.step)
        # (b, 3, S, S) 0..255: this process's rows of the step's batch (all of it alone)
        inputs, targets = self.objective.batch(self.step, self.rows)
        weighted = self._losses(inputs, targets)
        total = sum(weighted.values())
        self.optimizer.zero_grad(set_to_none=True)
        # DDP averages gradients over ranks; weighting each rank by its share of the rows makes
        # that the whole batch's mean when the batch does not split evenly (1.0 when it does).
        scale = self.world.size * self.share
        (total * scale if scale != 1 else total).backward()
        self.optimizer.step()
        values = torch.stack([total, *weighted.values()]).detach()
        if self.share != 1:
            values = self.world.sum(values * self.share)  # the whole batch's losses
        values = values.tolist()  # one device sync
        return dict(zip(["total", *weighted], values, strict=True))

    def _losses(self, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """The objective's weighted losses; in the patch stage with ``stable_weight``, also
        ``stable``: how much the output moves when the input gets sensor-like noise
        (``stable_noise`` grey levels per pixel and channel), both copies in one forward pass
        (the instance norm is per image).

        Why: a live camera's still pixels differ from frame to frame by noise alone; the patch
        stage's strokes amplified it into shimmer (Starry Night: still pixels changed 5.3x as
        much as the source's, and the live filter left 1.4x against the goal of 1.2)."""
        cfg, step = self.config, self.step
        if not cfg.stable_weight or step < cfg.patch_start:
            weighted = self.objective.losses(self.model(inputs), inputs, targets, step)
            if cfg.stable_weight:  # before the stage: the same names
                weighted["stable"] = inputs.new_zeros(())
            return weighted
        noisy = (inputs + torch.randn_like(inputs) * cfg.stable_noise).clamp(0, 255)
        output, moved = self.model(torch.cat([inputs, noisy])).chunk(2)
        weighted = self.objective.losses(output, inputs, targets, step)
        weighted["stable"] = cfg.stable_weight * (moved - output).abs().mean() / 255
        return weighted

    @torch.no_grad()
    def stylize(self, image: torch.Tensor) -> np.ndarray:
        """Run the network on float (1, 3, H, W) 0..255 (H, W multiples of 4): uint8 HxWx3."""
        return to_rgb(self.net(image.to(self.device)))

    def preview(self) -> np.ndarray:
        """The fixed validation photo as the network styles it now: uint8 HxWx3."""
        if self._validation is None:
            self._validation = self.data.photo(self.data.validation_index, PREVIEW_SIZE)
        return self.stylize(self._validation)

    def _checkpoint(self, report: bool = True) -> Path:
        """Write the checkpoint (rank 0 only; the others return where it is written);
        ``report`` False: no ``on_checkpoint`` (the same step saved again, with a new card)."""
        if not self.world.is_main:
            return self.checkpoint_path
        card = self._card()
        state = {
            "step": self.step,
            "model": {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()},
            "model_config": self.net.config.to_dict(),
            "train_config": self.config.to_dict(),
            "card": card.to_dict(),
            "optimizer": _to_cpu(self.optimizer.state_dict()),
            "rng": capture_rng_states(),
            "data": {"seed": self.config.seed, "step": self.step},
        }
        path = save_checkpoint(self.checkpoint_path, state)
        self._saved_step = self.step
        if report:
            self.callbacks.on_checkpoint(self.step, path)
        return path

    # -- results -------------------------------------------------------------------------------

    def _card(self) -> ModelCard:
        card = self.credits or ModelCard(
            name=self.name, title=self.title, painting_source=self.style_image.name,
            description=f"trained by TinyStyle on {self.style_image.name}, "
                        f"{self.config.image_size} px crops, batch {self.config.batch_size}",
        )
        return dataclasses.replace(card, name=self.name, title=card.title or self.title,
                                   preset=self.config.net, steps=self.step,
                                   description=credit_teacher(card.description, self.config),
                                   dark_colour=self._dark[0], dark_lift=self._dark[1])

    def _finish(self) -> TrainResult:
        onnx_path = self.run_dir / f"{self.name}.onnx"
        sheet = self.run_dir / "preview-sheet.png"
        if self.world.is_main:
            # onnx and ONNX Runtime are heavy; only needed here
            from engine.export.to_onnx import export_onnx
            from engine.training.dark_guard_fit import add_dark_guard

            if not (self.checkpoint_path.is_file() and self._saved_step == self.step):
                self._checkpoint()
            net = copy.deepcopy(self.net).cpu().eval()
            onnx_path = export_onnx(net, self._card(), onnx_path)
            card = add_dark_guard(onnx_path, load_painting(self.style_image))
            self._dark = (card.dark_colour, card.dark_lift)
            if card.dark_colour:  # the checkpoint's card carries it too
                self._checkpoint(report=False)
            save_image(sheet, self._preview_sheet())
            log.info("training finished: %s, %s", onnx_path, sheet)
        self.world.barrier()  # rank 0's files exist when run() returns on any rank
        return TrainResult(onnx_path, self.checkpoint_path, sheet, self.step, self.style_image,
                           self._card())

    def _preview_sheet(self) -> np.ndarray:
        """Top row: the painting and a few photos; bottom row: the photos stylized."""
        t = SHEET_TILE
        style = _square(load_style_image(self.style_image, t), t)
        n = len(self.data)
        picks = sorted({i * n // SHEET_PHOTOS for i in range(SHEET_PHOTOS)})  # n >= 1
        photos = [_square(self.data.photo(i, t), t) for i in picks]
        top = [to_rgb(style)] + [to_rgb(p) for p in photos]
        bottom = [np.full((t, t, 3), 255, np.uint8)] + [self.stylize(p) for p in photos]
        return np.concatenate([np.concatenate(top, 1), np.concatenate(bottom, 1)], 0)


def _square(image: torch.Tensor, size: int) -> torch.Tensor:
    """Centre square crop of a (1, 3, h, w) image whose short side is already ``size``."""
    h, w = image.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return image[..., top:top + size, left:left + size]


def _to_cpu(value):
    """Deep-copy an optimizer state_dict onto the CPU (tensors only; the rest is plain data)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _start_weights(cfg: TrainConfig, painting: np.ndarray) -> dict[str, torch.Tensor] | None:
    """The weights ``cfg.init_from`` names (None: from scratch), checked against the preset."""
    if cfg.init_from == INSTANT_INIT:
        return _instant_weights(painting, net_preset(cfg.net))
    if cfg.init_from:
        return _initial_weights(Path(cfg.init_from), net_preset(cfg.net))
    return None


def _initial_weights(path: Path, config: ModelConfig) -> dict[str, torch.Tensor]:
    """Weights to fine-tune from: a checkpoint or one of our ONNX models of the same preset."""
    if path.suffix.lower() == ".onnx":
        from engine.io.model_files import load_network

        net, _card = load_network(path)
        found, state = net.config, net.state_dict()
    else:
        saved = load_checkpoint(path)
        found, state = ModelConfig.from_dict(saved["model_config"]), saved["model"]
    if found != config:
        raise TrainingError(f"{path}: a different network shape than this run's preset",
                            hint="fine-tune from a model of the same network preset")
    return state


def _instant_weights(painting: np.ndarray, config: ModelConfig) -> dict[str, torch.Tensor]:
    """Weights to fine-tune from: the shipped instant-style model's network for the painting."""
    from engine.training.instant import load_instant
    from engine.training.teacher import PaintingTeacher, teacher_installed

    if not teacher_installed():
        raise TrainingError("starting from an instant style needs the painting teacher",
                            hint="pip install 'tinystyle[teacher]', or train from scratch")
    model = load_instant()
    if model.backbone.config != config:
        raise TrainingError(f"instant styles use the {model.preset} network, not this run's",
                            hint=f"train with --net {model.preset}")
    return model.network(PaintingTeacher(painting, threads=1).style_vector).state_dict()


def install_trained_style(result: TrainResult, name: str) -> Style:
    """Copy the trained ONNX model and a painting thumbnail into the user styles; return Style."""
    from engine import styles

    thumbnail = result.onnx_path.with_suffix(styles.THUMBNAIL_SUFFIX)
    if result.style_image is not None:
        size = SHEET_TILE
        save_image(thumbnail, to_rgb(_square(load_style_image(result.style_image, size), size)))
    return styles.import_user_style(result.onnx_path, name)
