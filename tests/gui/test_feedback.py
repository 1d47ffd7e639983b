"""Feedback a user can trust: every write ends in a notice naming the file with Show in folder,
recordings play at real speed, the wizard fits a laptop screen, the smallest window shows every
control, and settings survive a restart."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import QObject, QRect, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget, QWizard

from studio.panes.webcam_pane import CaptureSource  # wherever the capture module lives
from tests.gui.conftest import drop_files


class _UrlCatcher(QObject):
    """Receives what QDesktopServices.openUrl would hand to the file manager."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


@pytest.fixture
def opened_urls():
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    yield catcher.urls
    QDesktopServices.unsetUrlHandler("file")


def _select_style(qtbot, window) -> None:
    window.gallery.refresh(select="test-tiny")
    qtbot.waitUntil(lambda: window.state.style == "test-tiny", timeout=10_000)


def _fully_shown(widget: QWidget, window: QWidget) -> bool:
    """Visible, not covered by its parents' edges, and inside the window."""
    top_left = widget.mapTo(window, widget.rect().topLeft())
    inside = window.rect().contains(QRect(top_left, widget.size()))
    return widget.isVisible() and inside and widget.visibleRegion().boundingRect() == widget.rect()


def test_save_notice_survives_readouts_and_shows_folder(qtbot, window, user_style, bundled_photos,
                                                        tmp_path, opened_urls):
    _select_style(qtbot, window)
    pane = window.image_pane
    with qtbot.waitSignal(pane.imageShown, timeout=20_000):
        drop_files(pane, [bundled_photos[0]])
    window.settings.setValue("folders/save", str(tmp_path))
    with qtbot.waitSignal(pane.saved, timeout=20_000) as saved:
        pane.save_button.click()
    path = saved.args[0]
    assert window.notice.isVisible() and path.name in window.notice.message.text()
    with qtbot.waitSignal(pane.imageShown, timeout=20_000):  # a new readout arrives
        window.controls.strength.setValue(50)
    assert path.name in window.notice.message.text()
    assert not pane.progress.isVisible()
    window.notice.show_button.click()
    assert [u.toLocalFile() for u in opened_urls] == [str(tmp_path)]

    # Save As proposes a free name; picking WebP renames it to .webp, and that is what is saved.
    dialog = pane.save_as_dialog()
    proposed = Path(dialog.selectedFiles()[0])
    assert proposed.parent == tmp_path and not proposed.exists() and proposed.suffix == ".jpg"
    dialog.findChild(QComboBox, "fileTypeCombo").setCurrentIndex(2)  # like a user: WebP
    with qtbot.waitSignal(pane.saved, timeout=20_000) as webp:
        dialog.accept()
    assert webp.args[0].suffix == ".webp" and webp.args[0].is_file()
    assert webp.args[0].name in window.notice.message.text()


def test_save_can_be_cancelled_and_a_failed_save_says_so(qtbot, window, user_style,
                                                         bundled_photos, tmp_path):
    _select_style(qtbot, window)
    pane = window.image_pane
    with qtbot.waitSignal(pane.imageShown, timeout=20_000):
        pane.open_paths([bundled_photos[0]])
    pane.save_to(tmp_path / "cancelled.png")
    assert pane.progress.isVisible() and pane.cancel_button.isVisible()
    pane.cancel_button.click()
    qtbot.waitUntil(lambda: pane.status.text() == "Save cancelled", timeout=20_000)
    assert not (tmp_path / "cancelled.png").exists() and not pane.progress.isVisible()

    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a folder should be")
    with qtbot.waitSignal(window.errors.errorShown, timeout=20_000):
        pane.save_to(blocker / "x.png")
    assert pane.status.text() == "Save failed"
    qtbot.waitUntil(lambda: not pane.progress.isVisible(), timeout=5_000)


def test_batch_and_export_notices(qtbot, window, user_style, bundled_photos, tmp_path):
    _select_style(qtbot, window)
    folder = tmp_path / "in"
    folder.mkdir()
    for photo in bundled_photos[:2]:
        (folder / photo.name).write_bytes(photo.read_bytes())
    with qtbot.waitSignal(window.image_pane.batchFinished, timeout=60_000) as batch:
        drop_files(window, [folder])
    assert "Saved 2 images" in window.notice.message.text()
    assert window.notice.path().parent == batch.args[0][0].parent

    style = window.gallery.current_style()
    with qtbot.waitSignal(window.exporter.exported, timeout=30_000):
        window.exporter.export_onnx(style, tmp_path / "copy.onnx")
    assert "copy.onnx" in window.notice.message.text()
    with qtbot.waitSignal(window.exporter.exported, timeout=180_000) as bundle:
        window.exporter.export_ios(style, tmp_path / "ios")
    text = window.notice.message.text()
    assert bundle.args[0].name in text and "iOS 1" in text and "or later" in text


def test_strength_and_colours_survive_a_restart(qtbot, window, settings):
    from studio.main_window import MainWindow

    window.controls.strength.setValue(60)
    window.controls.preserve.setChecked(True)
    again = MainWindow(settings, reveal_exports=False)
    qtbot.addWidget(again)
    try:
        assert again.state.strength == pytest.approx(0.6)
        assert again.state.preserve_colors
        assert again.controls.strength.value() == 60 and again.controls.preserve.isChecked()
    finally:
        again.shutdown()


def test_smallest_window_shows_every_control(qtbot, window):
    window.resize(window.minimumSize())
    qtbot.waitUntil(lambda: window.size() == window.minimumSize(), timeout=5_000)
    bar = window.tabs.tabBar()
    for index in range(bar.count()):
        assert bar.rect().contains(bar.tabRect(index)), bar.tabText(index)
    image, webcam, gallery = window.image_pane, window.webcam_pane, window.gallery
    for widget in (gallery.ios_button, gallery.onnx_button, gallery.instant_button,
                   window.controls.strength, window.controls.preserve, image.open_button,
                   image.save_as_button, image.actual_button):
        assert _fully_shown(widget, window), widget.text() if hasattr(widget, "text") else widget
    window.tabs.setCurrentWidget(webcam)
    qtbot.waitUntil(lambda: webcam.start_button.isVisible(), timeout=5_000)
    for widget in (webcam.source, webcam.view_mode, webcam.start_button,
                   webcam.snapshot_button, webcam.record_button):
        assert _fully_shown(widget, window), widget


def test_webcam_remembered_file_ctrl_o_snapshot_and_real_speed_recording(
        qtbot, window, user_style, shared_data, tmp_path, monkeypatch):
    video = shared_data / "video" / "opencv-vtest.mp4"
    window.settings.setValue("webcam/source", CaptureSource(path=str(video)).key())
    window.settings.setValue("folders/snapshots", str(tmp_path))
    _select_style(qtbot, window)
    pane = window.webcam_pane
    with qtbot.waitSignal(pane.camerasProbed, timeout=20_000):
        window.tabs.setCurrentWidget(pane)
    assert pane.current_source() == CaptureSource(path=str(video))
    assert pane.stack.currentIndex() == 0  # the video, not "No camera found"

    # Ctrl+O in webcam mode opens a video file (and plays it).
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(video), ""))
    pane.resolution.setCurrentText("320 x 240")
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: pane.frames_shown >= 3, timeout=30_000)
    assert pane.stack.currentIndex() == 0

    with qtbot.waitSignal(pane.snapshotSaved, timeout=20_000) as snap:
        pane.snapshot_button.click()
    assert snap.args[0].name in window.notice.message.text()

    out = tmp_path / "clip.mp4"
    started = time.perf_counter()
    pane.start_recording(out)
    qtbot.wait(4000)
    assert pane.stop_recording() == out
    wall = time.perf_counter() - started
    pane.stop()
    qtbot.waitUntil(lambda: not pane._session.is_running(), timeout=5_000)
    assert out.name in window.notice.message.text()
    cap = cv2.VideoCapture(str(out))
    frames, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    assert frames / fps == pytest.approx(wall, rel=0.15), (frames, fps, wall)


def test_wizard_fits_a_laptop_and_keeps_what_was_entered(qtbot, window, bundled_photos, tmp_path):
    window.open_wizard()
    wizard = window.wizard
    wizard.resize(1366, 768)
    painting = tmp_path / "big.png"
    QImage(3000, 2000, QImage.Format.Format_RGB32).save(str(painting))
    drop_files(wizard.painting_page.drop, [painting])
    wizard.painting_page.title_edit.setText("Big Test")
    wizard.painting_page.name_edit.setText("big-test")
    crop = wizard.page(wizard.currentId() + 1)
    crop._style_size = 1024  # the size that pushed Back/Next off a 768 px screen
    wizard.next()
    qtbot.wait(50)
    assert wizard.height() <= 768
    for which in (QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton):
        assert _fully_shown(wizard.button(which), wizard)

    wizard.reject()  # Cancel, then open it again
    window.open_wizard()
    assert wizard.painting_page.title_edit.text() == "Big Test"
    assert wizard.field("name") == "big-test" and wizard.field("painting") == str(painting)

    for _ in range(4):  # painting -> crop -> photos -> size -> training
        wizard.next()
    page = wizard.train_page
    assert "Starting" not in page.eta.text() and "Start" in page.eta.text()
    assert "min" not in wizard.preset_page.minutes.text()  # no promise before measuring
    wizard._first_step = None
    wizard._on_progress(1, 100, {"total": 5.0}, 3.0, 60.0)
    assert "measuring" in page.eta.text()
    page.pause_button.setChecked(True)
    wizard._on_progress(6, 100, {"total": 4.0}, 3.0, 60.0)
    assert page.eta.text().startswith("Paused") and "1 min" in page.eta.text()
    page.pause_button.setChecked(False)


def test_tiled_save_shows_its_progress(qtbot, window, user_style, bundled_photos, tmp_path,
                                       monkeypatch):
    """A photo too big to run whole is saved tile by tile, and the bar counts the tiles."""
    import engine.runtime.stylizer

    monkeypatch.setattr(engine.runtime.stylizer, "ACTIVATION_BUDGET", 4 * 9 * 4 * 120 * 120)
    _select_style(qtbot, window)
    pane = window.image_pane
    with qtbot.waitSignal(pane.imageShown, timeout=20_000):
        pane.open_paths([bundled_photos[0]])
    values: list[tuple[int, int]] = []
    pane.progress.valueChanged.connect(lambda v: values.append((v, pane.progress.maximum())))
    with qtbot.waitSignal(pane.saved, timeout=60_000) as saved:
        pane.save_to(tmp_path / "tiled.png")
    assert saved.args[0].is_file()
    assert any(maximum == 100 and 0 < value < 100 for value, maximum in values), values
