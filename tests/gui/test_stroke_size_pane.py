"""Image mode's stroke size slider, driven like a user with a bundled style: the preview follows it,
the save uses it, and a 4000x3000 photo saved at full size looks like its preview."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QSettings

from engine.io.images import load_image, save_image
from engine.runtime.stylizer import STROKE_SIZES, resize
from studio.panes.style_controls import StrokeSizeControl
from studio.state import STROKE_SIZE_RANGE, StudioState

STYLE = "great-wave"
SEEN = (960, 1280)  # (h, w): the size a 4000x3000 photo is looked at
TOLERANCE = 2.5  # grey levels; without working sizes the old preview and save differ by 6.4


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def open_photo(qtbot, window, path) -> np.ndarray:
    """Select the bundled style, open ``path``; return the preview the pane showed."""
    window.gallery.refresh(select=STYLE)
    qtbot.waitUntil(lambda: window.state.style == STYLE, timeout=10_000)
    return preview_after(qtbot, window, lambda: window.image_pane.open_paths([path]))


def preview_after(qtbot, window, action) -> np.ndarray:
    """Do ``action``; return the preview computed with the state's stroke size afterwards."""
    with qtbot.waitSignal(window.image_inference.resultReady, timeout=30_000,
                          check_params_cb=lambda r: r.settings.stroke_size == window.state
                          .stroke_size and r.settings.model_path == window.state.style_path
                          ) as blocker:
        action()
    return blocker.args[0].output


def save(qtbot, window, target) -> np.ndarray:
    with qtbot.waitSignal(window.image_pane.saved, timeout=60_000) as saved:
        window.image_pane.save_to(target)
    return load_image(saved.args[0]).rgb


def test_full_size_save_looks_like_the_preview(qtbot, window, bundled_photos, tmp_path):
    small = load_image(next(p for p in bundled_photos if "castle" in p.name)).rgb
    big = save_image(tmp_path / "big.png",
                     cv2.resize(small, (4000, 3000), interpolation=cv2.INTER_CUBIC))
    preview = open_photo(qtbot, window, big)
    saved = save(qtbot, window, tmp_path / "saved.png")
    assert saved.shape == (3000, 4000, 3)
    assert mean_abs(resize(saved, *SEEN), resize(preview, *SEEN)) < TOLERANCE


def test_slider_changes_preview_and_saved_file(qtbot, window, settings, bundled_photos,
                                               tmp_path):
    photo = bundled_photos[3]
    usual = open_photo(qtbot, window, photo)
    usual_saved = save(qtbot, window, tmp_path / "usual.png")
    slider = window.image_pane.stroke_size.slider
    coarse = preview_after(qtbot, window, lambda: slider.setValue(slider.value() * 2))
    assert window.state.stroke_size == 2.0
    assert window.image_pane.stroke_size.label.text() == "×2.00"
    assert mean_abs(coarse, usual) > TOLERANCE  # the preview followed the slider
    coarse_saved = save(qtbot, window, tmp_path / "coarse.png")
    assert mean_abs(coarse_saved, coarse) < 1  # the save uses it too
    assert mean_abs(coarse_saved, usual_saved) > TOLERANCE
    # Remembered: a new control on the same settings starts at 2.
    settings.sync()
    state = StudioState()
    qtbot.addWidget(StrokeSizeControl(state, QSettings(settings.fileName(),
                                                       QSettings.Format.IniFormat)))
    assert state.stroke_size == 2.0


def test_slider_range_is_one_the_engine_accepts(qtbot):
    state = StudioState()
    assert STROKE_SIZES[0] <= STROKE_SIZE_RANGE[0] < 1 < STROKE_SIZE_RANGE[1] <= STROKE_SIZES[1]
    state.set_stroke_size(99)
    assert state.stroke_size == STROKE_SIZE_RANGE[1]
