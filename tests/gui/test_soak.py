"""Soak: thousands of live frames, then hundreds of strength-slider moves, in the real window.

Per-frame faults only show after thousands of frames: a Qt binding that leaks a reference on
every signal emit (PySide6 6.12.0 aborts after ~1,000), or a QImage or array kept per frame.
This drives the real panes, workers and ONNX Runtime that long; the process must survive and
its resident memory must stay flat once warmed up.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from studio.main_window import IMAGE_TAB
from tests.gui.conftest import drop_files

LIVE_FRAMES = 5000  # stylized by the live worker (each one emits several signals)
LIVE_WARMUP_FRAMES = 300  # model loaded, caches and buffers at their steady size
CLIP_SIZE, CLIP_FPS = (64, 48), 240.0  # small and fast: the capture loop paces itself to FPS
PHOTO_SIZE = (640, 480)  # a preview that is one MB per image: a kept result shows up in RSS
SLIDER_MOVES = 400
SLIDER_WAIT_EVERY = 20  # every 20th move waits for its result (the rest coalesce, debounced)
MAX_GROWTH_MB = 30.0


def _rss_mb() -> float:
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _settled_rss_mb() -> float:
    gc.collect()
    return _rss_mb()


def _pattern(size: tuple[int, int], shift: int) -> np.ndarray:
    """uint8 HxWx3 moving gradients, so every frame differs."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    channels = [(xx * 4 + shift * 5), (yy * 5 + shift * 3), (xx + yy + shift * 7) * 2]
    return (np.stack(channels, axis=-1) % 256).astype(np.uint8)


def _write_clip(path: Path, frames: int = 48) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), CLIP_FPS, CLIP_SIZE)
    for i in range(frames):
        writer.write(_pattern(CLIP_SIZE, i))
    writer.release()
    assert path.stat().st_size > 0, "OpenCV could not write an mp4v clip here"
    return path


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads RSS from /proc")
def test_long_live_session_then_slider_moves_keep_memory_flat(qtbot, window, user_style,
                                                              tmp_path):
    window.gallery.refresh(select="test-tiny")
    qtbot.waitUntil(lambda: window.state.style == "test-tiny", timeout=10_000)
    pane, inference = window.webcam_pane, window.session.inference

    window.tabs.setCurrentWidget(pane)
    pane.use_video(_write_clip(tmp_path / "soak.mp4"))
    qtbot.waitUntil(lambda: inference.processed >= LIVE_WARMUP_FRAMES, timeout=60_000)
    live_start = _settled_rss_mb()
    qtbot.waitUntil(lambda: inference.processed >= LIVE_FRAMES, timeout=150_000)
    live_growth = _settled_rss_mb() - live_start
    assert window.session.is_running(), "the live source stopped by itself"
    assert pane.frames_shown > LIVE_FRAMES // 10  # the UI kept painting, not just the worker

    window.tabs.setCurrentIndex(IMAGE_TAB)  # leaving webcam mode stops the camera
    qtbot.waitUntil(lambda: not window.session.is_running(), timeout=5_000)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), _pattern(PHOTO_SIZE, 0))
    with qtbot.waitSignal(window.image_pane.imageShown, timeout=20_000):
        drop_files(window.image_pane, [photo])
    slider = window.controls.strength
    slider_start = 0.0
    for move in range(1, SLIDER_MOVES + 1):
        value = (slider.value() + 37) % 101  # never the current value: every move emits
        if move % SLIDER_WAIT_EVERY:
            slider.setValue(value)
            qtbot.wait(1)
            continue
        with qtbot.waitSignal(window.image_pane.imageShown, timeout=20_000):
            slider.setValue(value)
        if move == 2 * SLIDER_WAIT_EVERY:  # warmed up: the preview buffers exist
            slider_start = _settled_rss_mb()
    slider_growth = _settled_rss_mb() - slider_start
    assert window.state.strength == slider.value() / 100

    assert live_growth < MAX_GROWTH_MB, f"RSS grew {live_growth:.1f} MB over the live frames"
    assert slider_growth < MAX_GROWTH_MB, f"RSS grew {slider_growth:.1f} MB over slider moves"
