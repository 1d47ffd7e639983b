"""Cheap guard against dependency releases that leak references per signal emit.

PySide6-Essentials 6.12.0 on Python 3.11 drops one reference to ``True`` on every
``Signal.emit()``; after ~1,000 emits the interpreter aborts (``bool_dealloc``). The live
preview emits several signals per frame, so such a release kills the app within a minute.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

# Few enough that a leaking release is caught by the assertion, not by its abort (~1,000 emits).
EMITS = 200  # loop iterations; each emits two signals


class _Emitter(QObject):
    plain = Signal()
    with_args = Signal(object, float)


def _refcounts() -> tuple[int, int, int]:
    return sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None)


def test_signal_emit_keeps_refcounts_of_singletons(qapp):
    emitter = _Emitter()
    received: list[float] = []
    emitter.with_args.connect(lambda _obj, value: received.append(value))
    for _ in range(50):  # warm up caches that legitimately take references once
        emitter.plain.emit()
        emitter.with_args.emit(None, 1.0)
    before = _refcounts()
    for i in range(EMITS):
        emitter.plain.emit()
        emitter.with_args.emit(None, float(i))
    after = _refcounts()
    assert len(received) == EMITS + 50
    drift = [a - b for a, b in zip(after, before, strict=True)]
    # a leaking release drifts by 2 * EMITS; allow small noise from unrelated allocations
    assert all(abs(d) < 50 for d in drift), (
        f"refcounts of (True, False, None) moved by {drift} over {2 * EMITS} emits: this Qt "
        "binding leaks per signal and will abort the app; pin a release that does not "
        "(constraints.txt)"
    )
