"""Webcam mode's threads: capture -> (one-slot mailbox) -> inference -> (latest wins) -> UI.

The session owns the capture thread (one per source) and the live inference thread, records
the stylized stream to MP4 on the inference thread, and hands the UI only the newest result,
so neither the network nor the screen ever works through a backlog.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.runtime.capture import CaptureSource
from studio.workers.capture_worker import CaptureWorker
from studio.workers.inference_worker import InferenceResult, InferenceSettings, InferenceWorker
from studio.workers.thread import WorkerThread

log = logging.getLogger(__name__)

RECORD_FOURCC = "mp4v"  # the MP4 codec OpenCV writes everywhere (avc1 fails on many builds)
DEFAULT_RECORD_FPS = 15.0  # when neither the source nor the live readout knows a rate
MAX_RECORD_FPS = 30.0  # more only repeats frames: live stylizing rarely passes ~15 FPS


class Recorder:
    """Writes stylized frames to an MP4 that plays at real speed; locked (inference thread).

    Live frames come irregularly and slower than the file's nominal rate (the network is the
    bottleneck), so the file has a fixed rate and each frame fills the time slots until the
    next one by its capture time: a frame is repeated while it was the newest, or skipped when
    a newer one shares its slot. Writing frames back to back made 12 s play in 1.8 s.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writer: cv2.VideoWriter | None = None
        self._path: Path | None = None
        self._fps = DEFAULT_RECORD_FPS
        self._size: tuple[int, int] | None = None
        self._start_time = 0.0  # capture time of the first frame (time.perf_counter)
        self._last: np.ndarray | None = None  # BGR frame filling the slots until the next one
        self.frames = 0  # frames written (slots filled)

    @property
    def recording(self) -> bool:
        return self._path is not None

    def start(self, path: Path, fps: float) -> None:
        """Record to ``path`` at ``fps`` (clamped to 1..MAX_RECORD_FPS; 0 means unknown)."""
        fps = min(MAX_RECORD_FPS, max(1.0, fps)) if fps > 0 else DEFAULT_RECORD_FPS
        with self._lock:
            self._path, self._fps, self._writer, self._size = path, fps, None, None
            self._last, self.frames = None, 0

    def write(self, result: InferenceResult) -> None:
        with self._lock:
            if self._path is None:
                return
            h, w = result.output.shape[:2]
            if self._writer is None:
                self._size = (w, h)
                self._start_time = result.frame.captured_at
                fourcc = cv2.VideoWriter_fourcc(*RECORD_FOURCC)
                self._writer = cv2.VideoWriter(str(self._path), fourcc, self._fps, self._size)
            if (w, h) != self._size:
                return  # size changed mid-recording: keep the file consistent, skip the frame
            slot = self._slot(result.frame.captured_at)
            if slot < self.frames:
                return  # a newer frame than this one already fills its slot
            self._fill(slot)
            self._last = cv2.cvtColor(result.output, cv2.COLOR_RGB2BGR)
            self._writer.write(self._last)
            self.frames += 1

    def _slot(self, when: float) -> int:
        return int((when - self._start_time) * self._fps)

    def _fill(self, slot: int) -> None:
        """Repeat the newest frame up to (not including) ``slot``: it was on screen meanwhile."""
        assert self._writer is not None
        while self._last is not None and self.frames < slot:
            self._writer.write(self._last)
            self.frames += 1

    def stop(self) -> tuple[Path | None, float]:
        """Close the file; returns its path (None if nothing was recorded) and its seconds."""
        with self._lock:
            path, seconds = self._path, 0.0
            if self._writer is not None:
                self._fill(self._slot(time.perf_counter()) + 1)  # the last frame lasts till now
                seconds = self.frames / self._fps
                self._writer.release()
            self._writer, self._path, self._last = None, None, None
            return (path if self.frames else None), seconds


class LiveSession(QObject):
    """Start/stop a source, change settings live, receive the newest stylized frame."""

    frameReady = Signal(object)  # InferenceResult, newest only
    opened = Signal(str, int, int, float)  # label, width, height, source fps
    failed = Signal(object)  # StudioError
    stopped = Signal()
    _deliver = Signal()  # inference thread -> UI thread: "a newest result is waiting"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inference = InferenceWorker(steady=True)
        self._inference_thread = WorkerThread(self.inference, "live-inference")
        self.inference.resultReady.connect(self._on_result_any_thread,
                                           Qt.ConnectionType.DirectConnection)
        self.inference.failed.connect(self.failed)
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)
        self._inference_thread.start()
        self._capture: WorkerThread | None = None
        self._retired: list[WorkerThread] = []
        self.recorder = Recorder()
        self._latest: InferenceResult | None = None
        self._latest_lock = threading.Lock()
        self.source_fps = 0.0

    @property
    def capture(self) -> CaptureWorker | None:
        return self._capture.worker if self._capture else None  # type: ignore[return-value]

    def is_running(self) -> bool:
        return self._capture is not None and self._capture.is_running()

    def start(self, source: CaptureSource, size: tuple[int, int] | None, mirror: bool) -> None:
        self.stop()
        worker = CaptureWorker(source, self.inference.submit, size, mirror)
        worker.opened.connect(self._on_capture_opened)
        worker.failed.connect(self.failed)
        worker.done.connect(self._on_capture_done)
        self._capture = WorkerThread(worker, "live-capture")
        self._capture.start()

    def stop(self) -> None:
        """Stop capturing without waiting on the UI thread; the thread ends on its own."""
        if self._capture is not None:
            self._capture.worker.stop()
            self._retired.append(self._capture)
            self._capture = None

    def set_settings(self, settings: InferenceSettings) -> None:
        self.inference.set_settings(settings)

    def set_mirror(self, mirror: bool) -> None:
        if self.capture is not None:
            self.capture.set_mirror(mirror)

    def shutdown(self) -> None:
        """Stop every thread and wait (window close)."""
        self.recorder.stop()
        self.stop()
        for thread in self._retired:
            thread.stop()
        self._retired.clear()
        self._inference_thread.stop()

    def _on_result_any_thread(self, result: InferenceResult) -> None:
        """On the inference thread: record, then post to the UI only if it has caught up."""
        try:
            self.recorder.write(result)
        except cv2.error as exc:
            log.warning("recording failed: %s", exc)
        with self._latest_lock:
            pending = self._latest is not None
            self._latest = result
        if not pending:
            self._deliver.emit()

    @Slot()
    def _on_deliver(self) -> None:
        with self._latest_lock:
            result, self._latest = self._latest, None
        if result is not None:
            self.frameReady.emit(result)

    @Slot(str, int, int, float)
    def _on_capture_opened(self, label: str, width: int, height: int, fps: float) -> None:
        self.source_fps = fps
        self.opened.emit(label, width, height, fps)

    @Slot()
    def _on_capture_done(self) -> None:
        if self._capture is not None and self.sender() is self._capture.worker:
            self._retired.append(self._capture)  # the source ended or failed by itself
            self._capture = None
        # Only drop threads that have really ended: destroying a running QThread aborts.
        self._retired = [t for t in self._retired if not t.thread.isFinished()]
        if self._capture is None:
            self.stopped.emit()
