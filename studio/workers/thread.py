"""Run a worker QObject on its own QThread and stop it politely (never ``terminate()``)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, QThread

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
        """Ask the worker to stop and wait for its thread; False if it did not end in time."""
        self.worker.stop()
        self.thread.quit()
        ended = self.thread.wait(timeout_ms)
        if not ended:
            log.warning("thread %s did not stop within %d ms", self.thread.objectName(), timeout_ms)
        return ended
