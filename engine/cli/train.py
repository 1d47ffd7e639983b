"""`tinystyle train`: train a style network on one painting, then install it as a user style.

Under ``torchrun --nproc-per-node N -m engine.cli train ...`` the N processes train one network
together (DDP, ``engine.training.distributed``); rank 0 alone prints and installs the style.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.progress_bar import ProgressBar
from engine.errors import Cancelled
from engine.io import paths
from engine.progress import TrainCallbacks

if TYPE_CHECKING:
    import numpy as np

LOG_LINES = 50  # without a terminal, print about this many progress lines per run


def register(sub: argparse._SubParsersAction) -> None:
    from engine.models.config import DEFAULT_NET_PRESET, NET_PRESETS
    from engine.training.config import TRAIN_PRESETS

    p = sub.add_parser("train", help="train a style network on a painting",
                       description="Train a style network on STYLE_IMAGE and install it as a "
                                   "user style. Ctrl-C saves a checkpoint; --resume continues.")
    p.add_argument("style_image", metavar="STYLE_IMAGE", type=Path, help="the painting")
    p.add_argument("--name", required=True, help="style name (lowercase, digits, - or _)")
    p.add_argument("--preset", choices=list(TRAIN_PRESETS),
                   help="training preset (default: painted where the painting teacher is "
                        "installed, pip install 'tinystyle[teacher]'; else quick)")
    p.add_argument("--net", choices=list(NET_PRESETS),
                   help=f"network preset (default: {DEFAULT_NET_PRESET})")
    p.add_argument("--content", type=Path, help="folder of content photos (default: bundled)")
    p.add_argument("--steps", type=int, help="total steps (overrides the preset)")
    p.add_argument("--image-size", type=int, help="training crop size in px")
    p.add_argument("--batch-size", type=int, help="crops per step")
    p.add_argument("--method",
                   help="learn the painting's statistics (gram) or the painting teacher's "
                        "rendering of each photo (teacher; preset 'painted')")
    p.add_argument("--strength", type=float, metavar="S",
                   help="style strength, 0 < S <= 1 (lower keeps more of the photo)")
    p.add_argument("--stroke-size", type=float, metavar="S",
                   help="the painting's strokes on the photo, 0.5-3 (1: the usual size)")
    p.add_argument("--init-from", metavar="MODEL",
                   help="fine-tune from a checkpoint or .onnx model, or 'instant': from the "
                        "painting's instant style (preset 'refine' does this)")
    p.add_argument("--resume", action="store_true", help="continue the run's last checkpoint")
    p.add_argument("--out-dir", type=Path, help="folder for runs (default: the user runs folder)")
    p.add_argument("--no-install", action="store_true", help="do not install the result")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace, run_dir: Path):
    """The preset (or, on --resume, the checkpoint's config) with the command-line overrides."""
    from engine.training.checkpoint import load_resumable
    from engine.training.config import (
        CHECKPOINT_NAME,
        TRAIN_PRESETS,
        TrainConfig,
        default_train_preset,
    )

    if args.resume:  # the trainer announces a fall back to the previous checkpoint
        path = run_dir / CHECKPOINT_NAME
        config = TrainConfig.from_checkpoint(load_resumable(path, announce=False), path)
    else:
        config = TRAIN_PRESETS[args.preset or default_train_preset()]
    overrides = {"net": args.net, "steps": args.steps, "image_size": args.image_size,
                 "batch_size": args.batch_size, "method": args.method,
                 "style_strength": args.strength, "stroke_size": args.stroke_size,
                 "init_from": args.init_from}
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})


class ConsoleCallbacks(TrainCallbacks):
    """Draws the progress bar (or prints log lines when not on a terminal); keeps the preview."""

    def __init__(self, bar: ProgressBar, run_dir: Path):
        self.bar = bar
        self.preview_path = run_dir / "preview.png"

    def on_progress(self, step: int, total: int, losses: dict[str, float],
                    images_per_second: float, eta_s: float) -> None:
        parts = " ".join(f"{k} {v:.3g}" for k, v in losses.items() if k != "total")
        text = f"loss {losses['total']:.4g} ({parts}) {images_per_second:.1f} img/s"
        self.bar.update(step, suffix=text)
        if not self.bar.enabled and (step % max(1, total // LOG_LINES) == 0 or step in (1, total)):
            eta = f"eta {int(eta_s) // 60}:{int(eta_s) % 60:02d}"
            print(f"step {step}/{total} {text} {eta}", file=sys.stderr, flush=True)

    def on_preview(self, step: int, rgb: np.ndarray) -> None:
        from engine.io.images import save_image

        save_image(self.preview_path, rgb)

    def on_checkpoint(self, step: int, path: Path) -> None:
        """Nothing to show: the bar keeps going and the path is printed at the end."""

    def on_setup(self, done: int, total: int, what: str) -> None:
        if done in (1, total) or done % max(1, total // LOG_LINES) == 0:
            print(f"{what}: {done}/{total}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _ctrl_c_cancels(token, signals=(signal.SIGINT,)) -> Iterator[None]:
    """The first Ctrl-C asks the trainer to checkpoint and stop; a second one interrupts.

    Under torchrun the launcher passes Ctrl-C on as SIGINT and stops workers (a scheduler's
    preemption included) with SIGTERM, so both signals are handled there.
    """
    def handler(signum, frame):
        for sig, old in previous.items():
            signal.signal(sig, old)
        token.cancel()

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(args: argparse.Namespace) -> int:
    from engine.deps import require_training

    require_training("tinystyle train")
    from engine.progress import CancelToken
    from engine.styles import check_name
    from engine.training import distributed
    from engine.training.trainer import Trainer, install_trained_style

    check_name(args.name)  # it names the run folder too: fail now, not after training
    launch = distributed.launch()
    main = launch is None or launch.rank == 0
    if not main:  # rank 0 speaks for the run; the others only fail loudly
        logging.getLogger("engine").setLevel(logging.ERROR)
    run_dir = (args.out_dir or paths.user_runs_dir()) / args.name
    config = _config(args, run_dir)
    token = CancelToken()
    signals = (signal.SIGINT, signal.SIGTERM) if launch else (signal.SIGINT,)
    with ProgressBar(config.steps, f"train {args.name}", enabled=None if main else False) as bar:
        callbacks = ConsoleCallbacks(bar, run_dir)
        trainer = Trainer(config, args.style_image, args.content, run_dir, callbacks, token,
                          name=args.name, resume=args.resume)
        try:
            with _ctrl_c_cancels(token, signals):
                result = trainer.run()
        except Cancelled as exc:
            bar.close()
            if main:
                print(f"{exc}", file=sys.stderr)
                print(f"resume with: tinystyle train {args.style_image} --name {args.name} "
                      "--resume" + (f" --out-dir {args.out_dir}" if args.out_dir else "")
                      + (" (under torchrun, with any number of processes)" if launch else ""),
                      file=sys.stderr)
            return 130
    if not main:
        return 0
    print(f"model: {result.onnx_path}")
    print(f"checkpoint: {result.checkpoint_path}")
    print(f"preview: {result.preview_path}")
    print(f"near-black: {result.card.near_black()}")
    if not args.no_install:
        style = install_trained_style(result, args.name)
        print(f"installed style '{style.name}' ({style.path})")
    return 0
