"""Image mode driven like a user: drop files, move the strength slider, save, drop junk."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from engine.io.images import load_image
from tests.gui.conftest import drop_files


def _select_style(qtbot, window, user_style):
    window.gallery.refresh(select="test-tiny")
    qtbot.waitUntil(lambda: window.state.style == "test-tiny", timeout=10_000)


def test_drop_change_strength_and_save(qtbot, window, user_style, bundled_photos, tmp_path):
    _select_style(qtbot, window, user_style)
    photo = bundled_photos[0]
    with qtbot.waitSignal(window.image_pane.imageShown, timeout=20_000):
        drop_files(window.image_pane, [photo])
    shown = window.image_pane.current_image()
    assert shown is not None and shown.path == photo

    # Strength 100% -> 0%: the live result follows (debounced, off the UI thread).
    with qtbot.waitSignal(window.image_pane.imageShown, timeout=20_000):
        window.controls.strength.setValue(0)
    assert window.state.strength == 0.0
    with qtbot.waitSignal(window.image_pane.imageShown, timeout=20_000):
        window.controls.strength.setValue(100)

    window.settings.setValue("folders/save", str(tmp_path))
    with qtbot.waitSignal(window.image_pane.saved, timeout=20_000) as first:
        window.image_pane.save_button.click()
    with qtbot.waitSignal(window.image_pane.saved, timeout=20_000) as second:
        window.image_pane.save_button.click()
    a, b = first.args[0], second.args[0]
    assert a != b, "a second Save must not overwrite the first"
    assert a.name == f"{photo.stem}-test-tiny.jpg"
    saved = load_image(a).rgb
    original = load_image(photo).rgb
    assert saved.shape == original.shape
    assert np.abs(saved.astype(int) - original.astype(int)).mean() > 5  # it is stylized

    # Strength 0 saves the photo itself (up to JPEG re-encoding).
    window.controls.strength.setValue(0)
    with qtbot.waitSignal(window.image_pane.saved, timeout=20_000) as plain:
        window.image_pane.save_to(tmp_path / "plain.png")
    assert np.abs(load_image(plain.args[0]).rgb.astype(int) - original.astype(int)).mean() < 1


def test_text_file_drop_shows_error(qtbot, window, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not an image")
    with qtbot.waitSignal(window.errors.errorShown, timeout=10_000) as shown:
        drop_files(window.image_pane, [junk])
    assert "notes.txt" in shown.args[0]
    assert window.image_pane.current_image() is None
    assert window.isVisible()


def test_batch_skips_bad_file_and_continues(qtbot, window, user_style, bundled_photos, tmp_path):
    _select_style(qtbot, window, user_style)
    folder = tmp_path / "in"
    folder.mkdir()
    for photo in bundled_photos[:3]:
        (folder / photo.name).write_bytes(photo.read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    with qtbot.waitSignal(window.errors.errorShown, timeout=30_000) as shown, \
            qtbot.waitSignal(window.image_pane.batchFinished, timeout=30_000) as done:
        drop_files(window, [folder])
    written = done.args[0]
    assert len(written) == 3 and all(p.is_file() for p in written)
    assert "broken.jpg" in shown.args[0]
    qtbot.waitUntil(lambda: not window.image_pane.progress.isVisible(), timeout=5_000)


def test_view_zoom_and_split(qtbot, window, user_style, bundled_photos):
    _select_style(qtbot, window, user_style)
    with qtbot.waitSignal(window.image_pane.imageShown, timeout=20_000):
        window.image_pane.open_paths([bundled_photos[1]])
    view = window.image_pane.view
    window.image_pane.actual_button.click()
    assert view.scale() == 1.0
    view.zoom_by(2.0)
    assert view.scale() == 2.0
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)  # fit
    assert view.scale() < 2.0
    view.set_split(1.7)
    assert view.split == 1.0
