"""The live path (LiveFeed + stylize_frame): what the app's webcam mode and the bench both run."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from style_models import export_random
from video_cases import CLIP_FRAMES, CLIP_SIZE, make_clip, read_video

from engine.errors import StudioError
from engine.runtime.capture import CaptureSource
from engine.runtime.live import (
    LIVE_WORKING_SIDE,
    MOTION_SPREAD,
    SOURCE_FLOOR,
    SOURCE_GRAIN,
    LiveFeed,
    TemporalFilter,
    stylize_frame,
)
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
    # an ordinary array: every cv2 call after the network copies a planar one first
    assert stylizer.run_frame(frame).flags.c_contiguous
    # odd sizes and blending take the general path, same result as stylize
    odd = frame[:117, :155]
    assert np.array_equal(stylize_frame(stylizer, odd, strength=0.5),
                          stylizer.stylize(odd, strength=0.5))


def test_a_720p_frame_is_stylized_at_the_live_working_size(tmp_path, bundled_photos):
    stylizer = Stylizer(export_random(tmp_path / "m.onnx", seed=4), threads=1)
    frame = cv2.resize(cv2.imread(str(bundled_photos[0]))[..., ::-1], (1280, 720))
    small = cv2.resize(frame, (LIVE_WORKING_SIDE, 360), interpolation=cv2.INTER_AREA)
    expected = cv2.resize(stylizer.run_frame(small), (1280, 720), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(stylize_frame(stylizer, frame), expected)
    full = stylize_frame(stylizer, frame, max_size=None)  # video export's full size
    assert full.shape == frame.shape and not np.array_equal(full, expected)


def test_bench_decodes_a_camera_sized_stream(tmp_path):
    from engine.runtime.bench import camera_sized

    small = make_clip(tmp_path / "small.mp4", audio=None)
    scaled = camera_sized(small, (192, 128), tmp_path)
    facts = read_video(scaled)
    assert (facts.size, facts.frames) == ((192, 128), CLIP_FRAMES)
    assert camera_sized(small, CLIP_SIZE, tmp_path) == small  # big enough: used as it is


def test_temporal_filter_holds_still_areas_and_follows_motion():
    rng = np.random.default_rng(0)
    source = np.full((48, 64, 3), 120, np.uint8)
    steady = TemporalFilter()
    first = rng.integers(0, 255, source.shape, dtype=np.uint8)
    assert steady(source, first) is first
    shimmer = np.clip(first.astype(int) + rng.integers(-20, 21, source.shape), 0, 255)
    held = steady(source, shimmer.astype(np.uint8))
    # a still scene: the output moves by at most the floor's share of the shimmer
    assert np.abs(held.astype(int) - first).max() <= 0.15 * 20 + 1
    moved = source.copy()
    moved[:, :32] = 250  # the left half of the scene changes a lot
    new = rng.integers(0, 255, source.shape, dtype=np.uint8)
    out = steady(moved, new)
    inner = slice(4, 28)  # away from the blur's reach across the edge
    assert np.array_equal(out[:, inner], new[:, inner])  # moving areas never trail


def test_a_flat_object_moving_is_followed_next_to_its_edge():
    """A flat bar moves 4 px: inside it the source does not change, yet the pixels beside
    its moving edges are followed fully (MOTION_SPREAD); far from any move the output holds."""
    scene = np.full((48, 96, 3), 60, np.uint8)
    before, after = scene.copy(), scene.copy()
    before[:, 30:60], after[:, 34:64] = 200, 200  # the bar's flat inside barely changes
    steady, rng = TemporalFilter(), np.random.default_rng(2)
    first, new = (rng.integers(0, 255, scene.shape, dtype=np.uint8) for _ in range(2))
    steady(before, first)
    out = steady(after, new)
    beside = slice(36, 38)  # inside the bar, past the blur's reach of its moved edge
    assert np.array_equal(out[:, beside], new[:, beside])
    assert not np.array_equal(out[:, 80:], new[:, 80:])  # far away: still held
    plain = TemporalFilter(spread=1)
    plain(before, first)
    assert not np.array_equal(plain(after, new)[:, beside], new[:, beside])


def test_hold_averages_a_still_sources_noise_and_passes_motion():
    """What the network sees: noise on still pixels mostly gone, a moving area exactly new."""
    rng = np.random.default_rng(4)
    base = np.tile(np.linspace(0, 255, 64), (48, 1))[..., None].repeat(3, 2)
    frames = [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
              for _ in range(12)]
    steady = TemporalFilter()
    seen = [steady.hold(f) for f in frames]
    def change(stream: list[np.ndarray]) -> float:
        return float(np.mean([np.abs(b.astype(int) - a).mean()
                              for a, b in zip(stream, stream[1:], strict=False)]))

    source_change, seen_change = change(frames), change(seen[5:])
    assert seen_change < 0.3 * source_change
    moved = frames[-1].copy()
    moved[:, :32] = 255 - moved[:, :32]  # the left half of the scene changes a lot
    inner = slice(4, 28)  # away from the blur's reach across the edge
    grain = steady.hold(moved)[:, inner].astype(int) - moved[:, inner]  # new frame + grain
    assert np.abs(grain).mean() < 3 and 1 < grain.std() < 3
    assert TemporalFilter(source_floor=None).hold(moved) is moved


def test_hold_lays_the_same_grain_on_every_frame():
    """Still grey gets a fixed texture for the network to paint from, identical each frame."""
    grey = np.full((48, 64, 3), 128, np.uint8)
    steady = TemporalFilter()
    first, second = steady.hold(grey), steady.hold(grey)
    assert np.array_equal(first, second) and 1.5 < first.astype(float).std() < 2.5


def test_steadied_live_path_flickers_less(tmp_path):
    """Sensor-like noise on a still clip: the raw network shimmers, the steadied path holds."""
    from engine.runtime.flicker import measure_flicker, measure_flickers, raw_and_steadied

    noisy = tmp_path / "noisy.avi"
    rng = np.random.default_rng(1)
    writer = cv2.VideoWriter(str(noisy), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (96, 72))
    base = np.tile(np.linspace(0, 255, 96), (72, 1))[..., None].repeat(3, 2)  # a still ramp
    for _ in range(20):
        writer.write(np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8))
    writer.release()
    stylizer = Stylizer(export_random(tmp_path / "m.onnx", seed=5), threads=1)
    raw = measure_flicker(lambda rgb: stylize_frame(stylizer, rgb), noisy, size=(96, 72))
    hold = TemporalFilter()
    held = measure_flicker(lambda rgb: stylize_frame(stylizer, rgb, steady=hold), noisy,
                           size=(96, 72))
    assert raw.frames == held.frames == 20 and raw.static_share > 0.9
    assert held.static < raw.static / 2
    # the pair in one pass (as the bench and flicker table use) gives the same figures
    both = measure_flickers(raw_and_steadied(stylizer, TemporalFilter()), noisy, size=(96, 72))
    assert both == (raw, held)


def _steady_reference(frames, floor=0.15, motion_levels=16.0, spread=MOTION_SPREAD):
    """The filter in plain numpy (lookup by fancy indexing, the spread as a sliding-window
    max, fresh temporaries): what its output must be."""
    out, previous = [], None
    for source, stylized in frames:
        grey = cv2.blur(cv2.cvtColor(source, cv2.COLOR_RGB2GRAY), (5, 5))
        if previous is None:
            held = stylized
        else:
            table = np.clip(np.arange(256, dtype=np.float32) / motion_levels, floor, 1.0)
            moved = cv2.absdiff(grey, previous)
            clear = np.pad(moved >= motion_levels, spread // 2)
            near_clear = sliding_window_view(clear, (spread, spread)).max(axis=(2, 3))
            weight = table[np.where(near_clear, 255, moved)]
            held = cv2.blendLinear(stylized, out[-1], weight, 1.0 - weight)
        previous = grey
        out.append(held)
    return out


def test_temporal_filter_output_is_the_reference_and_fresh_each_frame():
    """The LUT lookups and reused buffers change the cost, not one output pixel; a frame handed
    out is never written again (the screen may still be drawing it)."""
    rng = np.random.default_rng(2)
    base = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    frames = []
    for i in range(8):
        source = base.copy()
        source[:, 8 * i:8 * i + 16] = 255 - source[:, 8 * i:8 * i + 16]  # a moving band
        noise = rng.integers(-3, 4, source.shape)
        frames.append((np.clip(source + noise, 0, 255).astype(np.uint8),
                       rng.integers(0, 255, source.shape, dtype=np.uint8)))
    steady = TemporalFilter()
    got, snapshots = [], []
    for source, stylized in frames:
        got.append(steady(source, stylized))
        snapshots.append(got[-1].copy())  # as handed out, before later frames
    for g, want, snap in zip(got, _steady_reference(frames), snapshots, strict=True):
        assert np.array_equal(g, want)
        assert np.array_equal(g, snap)
    assert len({id(g) for g in got}) == len(got)
    steady.reset()
    small = frames[0][1][:30, :40].copy()
    assert steady(frames[0][0][:30, :40].copy(), small) is small  # a new stream starts afresh


def test_hold_and_the_output_blend_share_one_motion_map_and_are_each_the_reference():
    """hold() and the output blend of the same frame use one motion map between them; each
    is still the reference filter at its own floor (hold's with its fixed grain on top)."""
    rng = np.random.default_rng(4)
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    sources = []
    for i in range(6):
        source = base.copy()
        source[8 * i:8 * i + 12] = 255 - source[8 * i:8 * i + 12]  # a band moving down
        sources.append(np.clip(source + rng.integers(-3, 4, source.shape), 0, 255)
                       .astype(np.uint8))
    steady, held, out, maps = TemporalFilter(), [], [], []
    motion = steady._motion
    steady._motion = lambda source: maps.append(source) or motion(source)
    for source in sources:
        held.append(steady.hold(source))
        out.append(steady(source, 255 - held[-1]))  # a "network" that inverts what it sees
    grain = np.rint(np.random.default_rng(0).normal(0, SOURCE_GRAIN, base.shape))
    want_held = [cv2.add(h, grain.astype(np.int16), dtype=cv2.CV_8U) for h in
                 _steady_reference([(s, s) for s in sources], floor=SOURCE_FLOOR)]
    want_out = _steady_reference([(s, 255 - h) for s, h in zip(sources, held, strict=True)])
    for got, want in zip(held + out, want_held + want_out, strict=True):
        assert np.array_equal(got, want)
    assert len(maps) == len(sources)  # one motion map a frame


def test_raw_and_steadied_are_the_live_path_with_and_without_the_filter(tmp_path):
    """Two streams, each as stylize_frame makes it, also when the frame is shrunk to a
    working size and scaled back."""
    from engine.runtime.flicker import raw_and_steadied

    stylizer = Stylizer(export_random(tmp_path / "m.onnx", seed=6), threads=1)
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 255, (72, 96, 3), dtype=np.uint8) for _ in range(3)]
    both = raw_and_steadied(stylizer, TemporalFilter(), max_size=48)
    alone = TemporalFilter()
    for rgb in frames:
        raw, held = both(rgb)
        assert raw.shape == held.shape == rgb.shape
        assert np.array_equal(raw, stylize_frame(stylizer, rgb, max_size=48))
        assert np.array_equal(held, stylize_frame(stylizer, rgb, max_size=48, steady=alone))
