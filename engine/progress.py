"""Qt-free progress reporting and cancellation for long jobs (training, export).

A job calls ``TrainCallbacks`` methods and ``CancelToken.check()`` between units of work; the
CLI prints from the callbacks, the studio re-emits them as signals from its worker thread.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from engine.errors import Cancelled


class TrainCallbacks:
    """Override the hooks you need; the defaults do nothing. Called from the training thread."""

    def on_progress(
        self, step: int, total: int, losses: dict[str, float], images_per_second: float,
        eta_s: float,
    ) -> None:
        """After each step: ``step`` of ``total`` done, weighted losses, smoothed speed, ETA."""

    def on_preview(self, step: int, rgb: np.ndarray) -> None:
        """The fixed validation photo as stylized now: uint8 HxWx3 RGB."""

    def on_checkpoint(self, step: int, path: Path) -> None:
        """A checkpoint was written (periodically, at cancel and at the end)."""


class CancelToken:
    """Thread-safe cancel/pause flag that the worker polls with ``check()``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._cancelled = False
        self._paused = False

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    @property
    def is_paused(self) -> bool:
        return self._paused

    def check(self) -> None:
        """Block while paused; raise ``Cancelled`` once cancelled (also while paused)."""
        with self._cond:
            self._cond.wait_for(lambda: self._cancelled or not self._paused)
            if self._cancelled:
                raise Cancelled()
