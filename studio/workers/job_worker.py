"""One-shot background jobs (batch, save, export, camera probe) with progress and cancel.

A job is a plain function ``job(ctx) -> result`` that reports through ``ctx`` and calls
``ctx.check()`` between items (Orange3's TaskState idea). ``JobRunner`` keeps one job per kind:
starting a new one cancels the old one without waiting on the UI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from engine.errors import Cancelled, StudioError
from engine.progress import CancelToken
from studio.workers.thread import STOP_TIMEOUT_MS, WorkerThread

log = logging.getLogger(__name__)

Job = Callable[["JobContext"], Any]  # a job function; what it returns goes to ``finished``


class JobContext:
    """What a running job sees: a cancel token and ways to report progress."""

    def __init__(self, worker: JobWorker, token: CancelToken) -> None:
        self._worker = worker
        self.token = token

    def check(self) -> None:
        """Raise ``Cancelled`` if the user cancelled (and wait here while paused)."""
        self.token.check()

    def progress(self, done: int, total: int, what: str = "") -> None:
        self._worker.progress.emit(done, total, what)

    def item_failed(self, error: StudioError) -> None:
        """One item failed; the job goes on with the rest."""
        self._worker.itemFailed.emit(error)

    def partial(self, value: Any) -> None:
        """A partial result (one finished item) for the UI to show."""
        self._worker.partial.emit(value)


class JobWorker(QObject):
    """Runs ``job(ctx)`` once on its thread and reports how it ended.

    The one place where a job's ending becomes a signal; subclasses (training) only add
    signals of their own and may reword ``crash_message``/``crash_hint`` for unexpected errors.
    """

    progress = Signal(int, int, str)  # done, total, current item
    partial = Signal(object)
    itemFailed = Signal(object)  # StudioError for one item
    finished = Signal(object)  # the job's return value
    failed = Signal(object)  # StudioError that ended the job
    cancelled = Signal()
    done = Signal()  # always last, however it ended
    crash_message = "internal error"
    crash_hint = "see the log for details"

    def __init__(self, job: Job, token: CancelToken | None = None) -> None:
        super().__init__()
        self._job = job
        self.token = token or CancelToken()

    def run(self) -> None:
        try:
            result = self._job(JobContext(self, self.token))
        except Cancelled:
            self.cancelled.emit()
        except StudioError as exc:
            log.warning("background job failed: %s", exc)
            self.failed.emit(exc)
        except Exception as exc:  # a bug: keep the app alive, log the traceback, tell the user
            log.exception("background job crashed")
            self.failed.emit(StudioError(f"{self.crash_message}: {type(exc).__name__}: {exc}",
                                         hint=self.crash_hint))
        else:
            self.finished.emit(result)
        finally:
            self.done.emit()

    def pause(self) -> None:
        """The job waits at its next ``ctx.check()`` until ``resume`` or ``stop``."""
        self.token.pause()

    def resume(self) -> None:
        self.token.resume()

    def stop(self) -> None:
        self.token.cancel()  # also wakes a paused job


class JobRunner(QObject):
    """One job of each kind at a time; keeps cancelled threads alive until they end."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[str, WorkerThread] = {}
        self._retiring: list[WorkerThread] = []

    def start(self, kind: str, worker: JobWorker) -> JobWorker:
        self.cancel(kind)
        thread = WorkerThread(worker, f"{kind}-job")
        thread.thread.finished.connect(self._on_thread_finished)
        self._running[kind] = thread
        thread.start()
        return worker

    def cancel(self, kind: str) -> None:
        """Cancel the running job of this kind (non-blocking)."""
        old = self._running.pop(kind, None)
        if old is not None:
            old.worker.stop()
            self._retiring.append(old)

    def worker(self, kind: str) -> JobWorker | None:
        thread = self._running.get(kind)
        return thread.worker if thread is not None else None  # type: ignore[return-value]

    def is_running(self, kind: str) -> bool:
        """True until the job's end has reached the UI thread: its thread may have ended a
        moment earlier, but its result signals (queued before the thread's ``finished``) are
        only delivered by then, so "not running" means every slot has seen the outcome."""
        return kind in self._running

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> None:
        """Cancel everything, then wait for each (app exit); stragglers are parked, not dropped."""
        threads = [*self._running.values(), *self._retiring]
        for thread in threads:  # all cancel at once, so the waits overlap
            thread.worker.stop()
        for thread in threads:
            thread.stop(timeout_ms)
        self._running.clear()
        self._retiring.clear()

    @Slot()
    def _on_thread_finished(self) -> None:
        self._retiring = [t for t in self._retiring if not t.thread.isFinished()]
        for kind in [k for k, t in self._running.items() if t.thread.isFinished()]:
            del self._running[kind]
