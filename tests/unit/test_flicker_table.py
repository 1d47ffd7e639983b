"""scripts/flicker_table.py: the frames it hands the judge are the live path's, raw and steadied."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.runtime.live import TemporalFilter, stylize_frame
from engine.runtime.stylizer import Stylizer
from engine.styles import list_styles

SCRIPT = Path(__file__).parents[2] / "scripts" / "flicker_table.py"
spec = importlib.util.spec_from_file_location("flicker_table", SCRIPT)
flicker_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(flicker_table)


def test_judge_frames_spread_over_the_clip():
    assert flicker_table.judge_frames(150, 6) == [12, 37, 62, 87, 112, 137]
    assert flicker_table.judge_frames(3, 6) == [0, 1, 2]  # never past the end, no repeats


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """16 frames of 96x72: a bright square walking over a still, slightly noisy ramp."""
    path = tmp_path_factory.mktemp("clip") / "walk.avi"
    rng = np.random.default_rng(4)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (96, 72))
    base = np.tile(np.linspace(0, 255, 96), (72, 1))[..., None].repeat(3, 2)
    for i in range(16):
        frame = base + rng.normal(0, 2, base.shape)
        frame[20:44, 4 * i:4 * i + 24] = 240
        writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    writer.release()
    return path


def test_measure_keeps_the_live_paths_frames_for_the_judge(clip):
    style = next(s for s in list_styles() if s.bundled)
    raw, held, kept = flicker_table.measure(style, clip, frames=16, picks=3, floor=0.15,
                                            motion=16.0, threads=1)
    assert raw.frames == held.frames == 16
    assert held.static < raw.static  # the filter holds the ramp still
    assert [i for i, _, _ in kept] == [2, 8, 13]
    # the same frames, made one by one by the live path with the filter over the clip so far
    stylizer, steady = Stylizer(style.path, threads=1), TemporalFilter()
    capture = cv2.VideoCapture(str(clip))
    want = {}
    for i in range(14):
        rgb = cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB)
        want[i] = (stylize_frame(stylizer, rgb), stylize_frame(stylizer, rgb, steady=steady))
    capture.release()
    for i, r, h in kept:
        assert np.array_equal(r, want[i][0]) and np.array_equal(h, want[i][1])
        assert not np.array_equal(r, h)


def test_every_built_in_has_its_painting():
    if not flicker_table.DATA.is_dir():
        pytest.skip(f"shared data set not found at {flicker_table.DATA}")
    for style in (s for s in list_styles() if s.bundled):
        assert flicker_table.painting_of(style.name).is_file(), style.name
