"""Read frames from a camera or video file on its own thread and post them to a consumer.

Frames go into the inference worker's one-slot mailbox (``submit`` never blocks), so capture
runs at the source's pace and a slow inference drops frames instead of building a queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.errors import StudioError
from studio.camera import CaptureSource, open_capture
from studio.workers.inference_worker import Frame

log = logging.getLogger(__name__)

READ_FAILURES_TO_GIVE_UP = 30  # consecutive failed camera reads (~1 s) before reporting


class CaptureWorker(QObject):
    """Loop: read a frame, resize to fit, mirror if asked, hand it to ``sink``."""

    opened = Signal(str, int, int, float)  # label, width, height, source fps (0 if unknown)
    failed = Signal(object)  # StudioError
    done = Signal()

    def __init__(self, source: CaptureSource, sink: Callable[[Frame], None],
                 size: tuple[int, int] | None = None, mirror: bool = False) -> None:
        super().__init__()
        self._source = source
        self._sink = sink
        self._size = size
        self._mirror = mirror
        self._stop = threading.Event()
        self.frames = 0

    def set_mirror(self, mirror: bool) -> None:
        """Thread-safe (a bool swap); applies from the next frame."""
        self._mirror = mirror

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            cap = open_capture(self._source, self._size)
        except StudioError as exc:
            self.failed.emit(exc)
            self.done.emit()
            return
        try:
            self._loop(cap)
        except Exception as exc:  # a bug must not leave the thread hanging
            log.exception("capture failed")
            self.failed.emit(StudioError(f"{self._source.label}: capture failed: {exc}"))
        finally:
            cap.release()
            self.done.emit()

    def _loop(self, cap: cv2.VideoCapture) -> None:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        period = 1.0 / fps if self._source.is_file and 1.0 <= fps <= 240.0 else 0.0
        announced, failures, next_due = False, 0, time.perf_counter()
        while not self._stop.is_set():
            ok, bgr = cap.read()
            if not ok:
                if self._source.is_file and self.frames > 0:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop the file like a live feed
                    continue
                failures += 1
                if failures >= READ_FAILURES_TO_GIVE_UP or self._source.is_file:
                    self.failed.emit(StudioError(
                        f"{self._source.label}: no frames from this source",
                        hint="check the cable or choose a video file"))
                    return
                time.sleep(0.03)
                continue
            failures = 0
            rgb = self._prepare(bgr)
            if not announced:
                self.opened.emit(self._source.label, rgb.shape[1], rgb.shape[0], fps)
                announced = True
            self.frames += 1
            self._sink(Frame(rgb))
            if period:
                next_due = max(next_due + period, time.perf_counter() - period)
                self._stop.wait(max(0.0, next_due - time.perf_counter()))

    def _prepare(self, bgr: np.ndarray) -> np.ndarray:
        if self._size is not None:  # cameras may ignore the requested size
            bgr = _fit(bgr, self._size)
        if self._mirror:
            bgr = bgr[:, ::-1]
        return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _fit(bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Shrink to fit inside ``size`` keeping the aspect ratio (never enlarges)."""
    h, w = bgr.shape[:2]
    scale = min(size[0] / w, size[1] / h, 1.0)
    if scale >= 1.0:
        return bgr
    return cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)
