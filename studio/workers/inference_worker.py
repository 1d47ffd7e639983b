"""Stylize the latest submitted frame on a worker thread; stale frames are dropped, not queued.

Used by both modes: the image pane submits one photo per settings change (debounced), the
webcam's capture worker submits every frame. Settings (style, strength...) are read per frame,
so a style switch applies on the very next frame. Loaded models are cached per path.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from engine.errors import StudioError
from engine.runtime.mailbox import Mailbox
from studio.qimage import to_qimage

if TYPE_CHECKING:
    from engine.runtime.live import TemporalFilter
    from engine.runtime.stylizer import Stylizer

log = logging.getLogger(__name__)

MAX_CACHED_MODELS = 8


@dataclass(frozen=True)
class InferenceSettings:
    """What to do with each frame."""

    model_path: str = ""  # ONNX file of the style; "" passes frames through unstyled
    strength: float = 1.0  # 0 = original, 1 = fully stylized
    preserve_colors: bool = False  # keep the photo's colours, take only the style's texture
    max_size: int | None = None  # video: longest side the network runs at (None: full size)
    stroke_size: float | None = None  # photos: 1 = usual strokes; overrides max_size when set


@dataclass
class Frame:
    """One image to stylize: uint8 HxWx3 RGB, when it was captured, and the caller's tag."""

    rgb: np.ndarray
    tag: Any = None
    captured_at: float = field(default_factory=time.perf_counter)


@dataclass
class InferenceResult:
    frame: Frame
    settings: InferenceSettings
    output: np.ndarray  # uint8 HxWx3 RGB, same size as frame.rgb
    image: QImage  # output as a QImage, built on the worker thread
    source_image: QImage  # frame.rgb as a QImage, for side-by-side and split views
    latency_ms: float  # capture (or submit) to result


class InferenceWorker(QObject):
    """Loop: take the newest frame, stylize it with the current settings, emit the result."""

    resultReady = Signal(object)  # InferenceResult
    failed = Signal(object)  # StudioError, once per bad model path
    done = Signal()

    def __init__(self, threads: int | None = None, steady: bool = False) -> None:
        """``steady``: a video stream, smoothed where the scene holds still (``TemporalFilter``)."""
        super().__init__()
        self._mailbox: Mailbox[Frame] = Mailbox()
        self._settings = InferenceSettings()
        self._lock = threading.Lock()
        self._threads = threads
        self._stylizers: dict[str, Stylizer] = {}  # model path -> its loaded model
        self._bad_path = ""  # a path that failed to load; skipped until settings change
        self._steady = steady
        self._steadied: tuple[InferenceSettings, TemporalFilter] | None = None
        self.processed = 0

    @property
    def dropped(self) -> int:
        """Frames replaced by a newer one before they were stylized."""
        return self._mailbox.dropped

    def set_settings(self, settings: InferenceSettings) -> None:
        """Thread-safe; takes effect from the next frame."""
        with self._lock:
            if settings.model_path != self._settings.model_path:
                self._bad_path = ""
            self._settings = settings

    def settings(self) -> InferenceSettings:
        with self._lock:
            return self._settings

    def submit(self, frame: Frame) -> None:
        """Thread-safe and never blocks: replaces any frame still waiting."""
        self._mailbox.put(frame)

    def stop(self) -> None:
        self._mailbox.close()

    def run(self) -> None:
        """The thread's loop; returns when ``stop`` is called."""
        while (frame := self._mailbox.take()) is not None:
            settings = self.settings()
            try:
                output = self._stylize(frame.rgb, settings)
            except StudioError as exc:
                self._report(settings.model_path, exc)
                continue
            except Exception as exc:  # a bug must not kill the loop: log it and tell the user
                log.exception("inference failed")
                self._report(settings.model_path, StudioError(f"inference failed: {exc}"))
                continue
            if output is None:
                continue
            self.processed += 1
            self.resultReady.emit(InferenceResult(
                frame, settings, output, to_qimage(output), to_qimage(frame.rgb),
                (time.perf_counter() - frame.captured_at) * 1000.0))
        self._stylizers.clear()
        self.done.emit()

    def _steadier(self, settings: InferenceSettings) -> TemporalFilter | None:
        """Smooths still areas over frames; new settings start afresh (no blend of two styles)."""
        if not self._steady:
            return None
        if self._steadied is None or self._steadied[0] != settings:
            from engine.runtime.live import TemporalFilter

            self._steadied = (settings, TemporalFilter())
        return self._steadied[1]

    def _stylize(self, rgb: np.ndarray, settings: InferenceSettings) -> np.ndarray | None:
        if not settings.model_path:
            return rgb
        if settings.model_path == self._bad_path:
            return None
        stylizer = self._stylizer(settings.model_path)
        if settings.stroke_size is not None:  # a photo: the look must match its full-size save
            return stylizer.stylize(rgb, strength=settings.strength,
                                    preserve_colors=settings.preserve_colors,
                                    stroke_size=settings.stroke_size)
        from engine.runtime.live import stylize_frame  # with onnxruntime, off the UI thread

        return stylize_frame(stylizer, rgb, strength=settings.strength,
                             preserve_colors=settings.preserve_colors, max_size=settings.max_size,
                             steady=self._steadier(settings))

    def _stylizer(self, path: str) -> Stylizer:
        stylizer = self._stylizers.get(path)
        if stylizer is None:
            from engine.runtime.stylizer import (
                Stylizer,  # onnxruntime loads here, off the UI thread
            )

            if len(self._stylizers) >= MAX_CACHED_MODELS:
                self._stylizers.pop(next(iter(self._stylizers)))
            stylizer = self._stylizers[path] = Stylizer(path, threads=self._threads)
        return stylizer

    def _report(self, path: str, error: StudioError) -> None:
        with self._lock:
            if path == self._settings.model_path:
                self._bad_path = path
        self.failed.emit(error)
