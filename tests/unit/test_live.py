"""The live path (LiveFeed + stylize_frame): what the app's webcam mode and the bench both run."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from style_models import export_random

from engine.errors import StudioError
from engine.runtime.capture import CaptureSource
from engine.runtime.live import LiveFeed, stylize_frame
from engine.runtime.stylizer import Stylizer


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """12 frames of 96x72 at 30 FPS, each a different grey level (to follow the loop)."""
    path = tmp_path_factory.mktemp("clip") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (96, 72))
    for level in range(12):
        writer.write(np.full((72, 96, 3), level * 20, np.uint8))
    writer.release()
    return path


def _take(feed: LiveFeed, count: int) -> list[np.ndarray]:
    stop, frames = threading.Event(), []
    for rgb in feed.frames(stop):
        frames.append(rgb)
        if len(frames) == count:
            stop.set()
    feed.close()
    return frames


def test_file_loops_like_a_camera_and_fits_inside(clip):
    frames = _take(LiveFeed(CaptureSource(path=str(clip)), size=(48, 48), pace_fps=0), 30)
    assert len(frames) == 30
    assert all(f.shape == (36, 48, 3) and f.dtype == np.uint8 for f in frames)  # aspect kept
    levels = [int(f.mean()) for f in frames]
    assert levels[12] == pytest.approx(levels[0], abs=3)  # frame 13 is frame 1 again


def test_file_is_paced_at_its_frame_rate(clip):
    start = time.perf_counter()
    _take(LiveFeed(CaptureSource(path=str(clip))), 16)
    assert time.perf_counter() - start >= 15 / 30 * 0.9  # 30 FPS file: ~0.5 s, not instant


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(StudioError, match="not found"):
        LiveFeed(CaptureSource(path=str(tmp_path / "gone.mp4"))).open()


def test_stylize_frame_matches_stylize(tmp_path, bundled_photos):
    stylizer = Stylizer(export_random(tmp_path / "m.onnx", seed=4), threads=1)
    frame = np.ascontiguousarray(cv2.imread(str(bundled_photos[0]))[:120, :160, ::-1])
    whole = stylizer.stylize(frame)
    assert np.abs(stylize_frame(stylizer, frame).astype(int) - whole).max() <= 1
    # odd sizes and blending take the general path, same result as stylize
    odd = frame[:117, :155]
    assert np.array_equal(stylize_frame(stylizer, odd, strength=0.5),
                          stylizer.stylize(odd, strength=0.5))
