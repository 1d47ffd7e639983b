"""Training as a job: ``Trainer`` runs inside a ``JobWorker`` and its callbacks become signals.

The worker is an ordinary job for ``JobRunner`` (one ending ladder, in ``JobWorker.run``); it
only adds the trainer's richer progress, throttled previews (converting and painting one
costs the UI a little) and checkpoints. Pause and cancel go through the job's CancelToken,
which the trainer checks every step. A cancelled run leaves its checkpoint, so the wizard can
resume it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal

from engine.progress import TrainCallbacks
from studio.qimage import to_qimage
from studio.workers.job_worker import JobContext, JobWorker

if TYPE_CHECKING:
    from engine.styles import Style
    from engine.training.config import TrainConfig

PREVIEW_MIN_INTERVAL_S = 0.5


class _SignalCallbacks(TrainCallbacks):
    def __init__(self, worker: TrainingWorker) -> None:
        self._worker = worker
        self._last_preview = 0.0

    def on_progress(self, step: int, total: int, losses: dict[str, float],
                    images_per_second: float, eta_s: float) -> None:
        self._worker.trainProgress.emit(step, total, dict(losses), images_per_second, eta_s)

    def on_preview(self, step: int, rgb: np.ndarray) -> None:
        now = time.monotonic()
        if now - self._last_preview >= PREVIEW_MIN_INTERVAL_S:
            self._last_preview = now
            self._worker.preview.emit(step, to_qimage(rgb))

    def on_checkpoint(self, step: int, path: Path) -> None:
        self._worker.checkpoint.emit(step, str(path))

    def on_setup(self, done: int, total: int, what: str) -> None:
        self._worker.progress.emit(done, total, what)


class TrainingWorker(JobWorker):
    """Trains, installs the result as a user style; ``finished`` carries the new Style."""

    trainProgress = Signal(int, int, dict, float, float)  # step, total, losses, images/s, eta s
    preview = Signal(int, object)  # step, QImage
    checkpoint = Signal(int, str)
    crash_message = "training stopped"
    crash_hint = "you can resume it from its last checkpoint"

    def __init__(self, config: TrainConfig, painting: Path, content: Path, name: str,
                 title: str = "", resume: bool = False) -> None:
        super().__init__(self._train)
        self._args = (config, painting, content, name, title, resume)

    def _train(self, ctx: JobContext) -> Style:
        from engine.io.paths import user_runs_dir
        from engine.training.trainer import Trainer, install_trained_style

        config, painting, content, name, title, resume = self._args
        trainer = Trainer(config, painting, content, user_runs_dir() / name,
                          _SignalCallbacks(self), ctx.token, name=name, title=title,
                          resume=resume)
        return install_trained_style(trainer.run(), name)
