"""Run ``engine.training.trainer.Trainer`` on a thread and re-emit its callbacks as Qt signals.

Previews are throttled (converting and painting one costs the UI a little); pause and cancel go
through the engine's CancelToken, which the trainer checks every step. A cancelled run leaves
its checkpoint, so the wizard can resume it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.errors import Cancelled, StudioError
from engine.progress import CancelToken, TrainCallbacks
from studio.qimage import to_qimage

log = logging.getLogger(__name__)

PREVIEW_MIN_INTERVAL_S = 0.5


class _SignalCallbacks(TrainCallbacks):
    def __init__(self, worker: TrainingWorker) -> None:
        self._worker = worker
        self._last_preview = 0.0

    def on_progress(self, step: int, total: int, losses: dict[str, float],
                    images_per_second: float, eta_s: float) -> None:
        self._worker.progress.emit(step, total, dict(losses), images_per_second, eta_s)

    def on_preview(self, step: int, rgb: np.ndarray) -> None:
        now = time.monotonic()
        if now - self._last_preview >= PREVIEW_MIN_INTERVAL_S:
            self._last_preview = now
            self._worker.preview.emit(step, to_qimage(rgb))

    def on_checkpoint(self, step: int, path: Path) -> None:
        self._worker.checkpoint.emit(step, str(path))


class TrainingWorker(QObject):
    """Trains, installs the result as a user style, emits the new Style."""

    progress = Signal(int, int, dict, float, float)  # step, total, losses, images/s, eta s
    preview = Signal(int, object)  # step, QImage
    checkpoint = Signal(int, str)
    finished = Signal(object)  # engine.styles.Style
    failed = Signal(object)  # StudioError
    cancelled = Signal()
    done = Signal()

    def __init__(self, config: Any, painting: Path, content: Any, name: str, title: str,
                 resume: bool = False) -> None:
        super().__init__()
        self._args = (config, painting, content, name, title, resume)
        self.token = CancelToken()

    def run(self) -> None:
        try:
            self.finished.emit(self._train())
        except Cancelled:
            self.cancelled.emit()
        except StudioError as exc:
            log.warning("training failed: %s", exc)
            self.failed.emit(exc)
        except Exception as exc:  # a crash: keep the app alive, log it, say where the log is
            log.exception("training crashed")
            self.failed.emit(StudioError(f"training stopped: {type(exc).__name__}: {exc}",
                                         hint="you can resume it from its last checkpoint"))
        finally:
            self.done.emit()

    def _train(self) -> Any:
        from engine.io.paths import user_runs_dir
        from engine.training.trainer import Trainer, install_trained_style

        config, painting, content, name, title, resume = self._args
        trainer = Trainer(config, painting, content, user_runs_dir() / name,
                          _SignalCallbacks(self), self.token, name=name, resume=resume)
        result = trainer.run()
        return install_trained_style(result, name)

    def pause(self) -> None:
        self.token.pause()

    def resume(self) -> None:
        self.token.resume()

    def stop(self) -> None:
        self.token.cancel()  # also wakes a paused trainer
