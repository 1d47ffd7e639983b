"""Qt-free progress reporting and cancellation for long jobs (training, export, big images).

One vocabulary for every long job: a ``Progress`` callable for jobs measured in fractions
(export, tiled stylizing), ``TrainCallbacks`` for training's richer step reports, and a
``CancelToken`` the job checks between units of work. The CLI prints from these, the studio
re-emits them as signals from its worker thread. A progress callable may raise (``Cancelled``)
to stop the job at that point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import Cancelled

if TYPE_CHECKING:
    import numpy as np

# (fraction 0..1, what is happening now); called from the working thread, may raise Cancelled.
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """The default ``Progress``: report nothing."""


def scaled(progress: Progress, start: float, span: float) -> Progress:
    """A ``Progress`` for a sub-job that fills ``start..start + span`` of its parent's bar."""
    return lambda fraction, message: progress(start + span * fraction, message)


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

    def on_setup(self, done: int, total: int, what: str) -> None:
        """Before the first step: ``done`` of ``total`` units of ``what`` prepared."""


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

    def raise_if_cancelled(self) -> None:
        """Raise ``Cancelled`` once cancelled, without waiting while paused (for set-up work
        that has nothing to save, so a pause there would only hold up the start)."""
        if self._cancelled:
            raise Cancelled()

    def check(self) -> None:
        """Block while paused; raise ``Cancelled`` once cancelled (also while paused)."""
        with self._cond:
            self._cond.wait_for(lambda: self._cancelled or not self._paused)
            if self._cancelled:
                raise Cancelled()
