"""A one-slot mailbox: the latest item wins, older unread items are dropped and counted.

This is how the webcam stays live: capture never queues frames behind a slow inference, it
replaces the waiting one (the Mandelbrot ``RenderThread`` pattern of the Qt examples).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """Thread-safe single slot. ``put`` never blocks; ``take`` blocks until an item or close."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0  # items replaced before anyone took them

    def put(self, item: T) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify()

    def take(self, timeout: float | None = None) -> T | None:
        """The waiting item, or None once closed (or after ``timeout`` seconds)."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            if self._closed:
                return None
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake the reader for good: ``take`` returns None from now on."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
