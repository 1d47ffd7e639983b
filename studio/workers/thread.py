"""Run a worker QObject on its own QThread and stop it politely (never ``terminate()``).

A thread that does not stop within the timeout (an export between two cancel checks) is
*parked*: kept referenced until it really ends. Dropping the last reference to a running
QThread destroys it, and Qt aborts the whole process ("Destroyed while thread is still
running"). ``wait_for_parked`` lets app exit wait for the stragglers.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Qt, QThread, Slot

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 2000


class WorkerThread:
    """Owns one QThread; moves ``worker`` onto it and calls ``worker.run`` when it starts.

    ``worker.run`` may block (a loop on a mailbox or a long job). Stopping asks the worker to
    finish via its ``stop()`` (set a flag, wake it), then waits at most ``STOP_TIMEOUT_MS``.
    """

    def __init__(self, worker: QObject, name: str) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # The thread's event loop is only needed to deliver ``run``; leave as soon as it returns.
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Ask the worker to stop and wait for its thread; False (and parked) if still running."""
        self.worker.stop()
        self.thread.quit()
        ended = self.thread.wait(timeout_ms)
        if not ended:
            log.warning("thread %s did not stop within %d ms; parked until it ends",
                        self.thread.objectName(), timeout_ms)
            _parking().park(self)
        return ended


class _Parking(QObject):
    """Threads that outlived ``stop``'s timeout, released (on the UI thread) once they end."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[WorkerThread] = []

    def park(self, thread: WorkerThread) -> None:
        if thread not in self.threads:
            self.threads.append(thread)
            thread.thread.finished.connect(self._on_thread_finished,
                                           Qt.ConnectionType.QueuedConnection)

    @Slot()
    def _on_thread_finished(self) -> None:
        # ``finished`` is emitted just before the thread ends: wait out that instant first.
        ended = self.sender()
        for thread in [t for t in self.threads if t.thread is ended]:
            if thread.thread.wait(1000):
                self.threads.remove(thread)


_parked: _Parking | None = None


def _parking() -> _Parking:
    """The process-wide parking lot, created on first use on the thread that stops workers."""
    global _parked
    if _parked is None:
        _parked = _Parking()
    return _parked


def parked_threads() -> int:
    """How many stopped threads are still running their last piece of work."""
    return len(_parked.threads) if _parked is not None else 0


def wait_for_parked(timeout_ms: int) -> bool:
    """Block until every parked thread has ended (app exit); False if some still run."""
    if _parked is None:
        return True
    deadline = time.monotonic() + timeout_ms / 1000
    for thread in list(_parked.threads):
        left_ms = max(0, round((deadline - time.monotonic()) * 1000))
        if thread.thread.wait(left_ms):
            _parked.threads.remove(thread)
    return not _parked.threads
