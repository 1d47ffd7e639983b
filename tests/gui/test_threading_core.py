"""The threading core on its own, with real QThreads: the one-slot mailbox, one job per kind,
and shutdown that never destroys a running thread (Qt would abort the whole process)."""

from __future__ import annotations

import gc
import threading
import time
import weakref

from PySide6.QtCore import QObject, Slot

from engine.runtime.mailbox import Mailbox
from studio.workers.job_worker import JobContext, JobRunner, JobWorker
from studio.workers.thread import parked_threads, wait_for_parked

STUBBORN_S = 1.5  # a job that ignores cancel this long, like a Core ML conversion step


def test_mailbox_keeps_the_latest_and_counts_the_dropped():
    box: Mailbox[int] = Mailbox()
    for frame in range(5):
        box.put(frame)
    assert box.take(timeout=0) == 4
    assert box.dropped == 4
    assert box.take(timeout=0.01) is None  # empty: nothing is replayed
    box.put(5)
    assert box.take() == 5
    assert box.dropped == 4  # a taken item is never counted as dropped


def test_mailbox_close_wakes_a_blocked_reader():
    box: Mailbox[int] = Mailbox()
    got: list[int | None] = []
    reader = threading.Thread(target=lambda: got.append(box.take()))
    reader.start()
    time.sleep(0.05)
    box.close()
    reader.join(timeout=2)
    assert not reader.is_alive() and got == [None]
    box.put(1)
    assert box.take(timeout=0) is None  # closed for good


def _until_cancelled(ctx: JobContext) -> str:
    while True:
        ctx.check()
        time.sleep(0.01)


def test_starting_a_job_cancels_the_running_one_of_that_kind(qtbot):
    runner = JobRunner()
    old = runner.start("export", JobWorker(_until_cancelled))
    qtbot.waitUntil(lambda: runner.is_running("export"), timeout=5_000)
    new = JobWorker(lambda ctx: "second")
    events: list[str] = []
    old.cancelled.connect(lambda: events.append("old cancelled"))
    old.finished.connect(lambda _result: events.append("old finished"))
    new.finished.connect(events.append)
    runner.start("export", new)
    assert runner.worker("export") is new
    qtbot.waitUntil(lambda: len(events) == 2 and not runner.is_running("export"), timeout=10_000)
    assert sorted(events) == ["old cancelled", "second"]
    runner.shutdown()


class _Results(QObject):
    """A receiver on the UI thread, as the app's panes are: results reach it queued."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []

    @Slot(object)
    def take(self, result: str) -> None:
        self.got.append(result)


def test_a_job_counts_as_running_until_its_result_has_been_delivered(qtbot):
    runner = JobRunner()
    worker = JobWorker(lambda ctx: "listed")
    results = _Results()
    worker.finished.connect(results.take)
    runner.start("styles", worker)
    assert runner._running["styles"].thread.wait(5_000)  # the thread ended, no events yet
    assert runner.is_running("styles") and results.got == []  # its result is still queued
    qtbot.waitUntil(lambda: not runner.is_running("styles"), timeout=5_000)
    assert results.got == ["listed"]


def test_shutdown_parks_a_job_that_ignores_cancel_until_it_ends(qtbot):
    started = threading.Event()

    def stubborn(ctx: JobContext) -> str:
        started.set()
        time.sleep(STUBBORN_S)  # no ctx.check() in here
        return "late"

    runner = JobRunner()
    worker = runner.start("export", JobWorker(stubborn))
    results: list[str] = []
    worker.finished.connect(results.append)
    assert started.wait(5)
    thread = weakref.ref(runner._running["export"])
    before = parked_threads()

    runner.shutdown(timeout_ms=100)  # returns while the job still runs; must not abort Qt
    del runner
    gc.collect()
    assert thread() is not None and thread().is_running()
    assert parked_threads() == before + 1
    assert not wait_for_parked(50)  # app exit can tell the job is still going

    qtbot.waitUntil(lambda: parked_threads() == before, timeout=10_000)
    assert results == ["late"]  # the job ran to its end, and its result still arrived
    gc.collect()
    assert thread() is None  # released once it really ended
    assert wait_for_parked(0)
