"""Read frames from a camera or video file on its own thread and post them to a consumer.

Frames go into the inference worker's one-slot mailbox (``submit`` never blocks), so capture
runs at the source's pace and a slow inference drops frames instead of building a queue. The
reading itself is the engine's ``LiveFeed``, the same loop ``tinystyle bench`` times.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from engine.errors import StudioError
from engine.runtime.capture import CaptureSource
from engine.runtime.live import LiveFeed
from studio.workers.inference_worker import Frame

log = logging.getLogger(__name__)


class CaptureWorker(QObject):
    """Loop: read a frame (fitted, mirrored if asked) and hand it to ``sink``."""

    opened = Signal(str, int, int, float)  # label, width, height, source fps (0 if unknown)
    failed = Signal(object)  # StudioError
    done = Signal()

    def __init__(self, source: CaptureSource, sink: Callable[[Frame], None],
                 size: tuple[int, int] | None = None, mirror: bool = False) -> None:
        super().__init__()
        self._source = source
        self._sink = sink
        self._feed = LiveFeed(source, size=size, mirror=mirror)
        self._stop = threading.Event()

    @property
    def frames(self) -> int:
        """Frames read so far."""
        return self._feed.frames_read

    def set_mirror(self, mirror: bool) -> None:
        """Thread-safe (a bool swap); applies from the next frame."""
        self._feed.mirror = mirror

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            announced = False
            for rgb in self._feed.frames(self._stop):
                if not announced:
                    self.opened.emit(self._source.label, rgb.shape[1], rgb.shape[0],
                                     self._feed.fps)
                    announced = True
                self._sink(Frame(rgb))
        except StudioError as exc:
            self.failed.emit(exc)
        except Exception as exc:  # a bug must not leave the thread hanging
            log.exception("capture failed")
            self.failed.emit(StudioError(f"{self._source.label}: capture failed: {exc}"))
        finally:
            self._feed.close()
            self.done.emit()
