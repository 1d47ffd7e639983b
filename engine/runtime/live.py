"""The live path: frames from a camera or video file, stylized as they come, latest frame wins.

One implementation for every live consumer: the studio's capture and inference threads and
``tinystyle bench``'s pipeline figure run exactly this code, so the bench times what the app
does. Qt-free; the studio only moves the results onto the screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import cv2
import numpy as np

from engine.errors import StudioError
from engine.runtime.capture import CaptureSource, open_capture

if TYPE_CHECKING:
    from engine.runtime.steady_norms import SteadyNorms
    from engine.runtime.stylizer import Stylizer

READ_FAILURES_TO_GIVE_UP = 30  # consecutive failed camera reads (~1 s) before reporting
# px, the long side live frames are stylized at: a 1280x720 webcam runs the network at 640x360
# and is shown at 1280x720 (4x fewer pixels than full size; the strokes look as on a 640x480
# camera). Steadying runs at this size too.
LIVE_WORKING_SIDE = 640


class LiveFeed:
    """RGB frames from ``source``: fitted inside ``size``, mirrored if asked, files looped.

    Video files are paced like a camera: at ``pace_fps`` if given, else at their own frame rate
    (0 reads as fast as the decoder can, a worst case for the cores). Cameras set their own pace.
    """

    def __init__(self, source: CaptureSource, *, size: tuple[int, int] | None = None,
                 mirror: bool = False, pace_fps: float | None = None) -> None:
        self.source, self.size, self.mirror, self.pace_fps = source, size, mirror, pace_fps
        self.frames_read = 0
        self.fps = 0.0  # the source's own frame rate, 0 if unknown; set by open()
        self.frame_count = 0  # frames in a video file, 0 for cameras or unknown; set by open()
        self._capture: cv2.VideoCapture | None = None

    def open(self) -> None:
        """Open the source; StudioError saying what to try if it cannot be opened."""
        self._capture = open_capture(self.source, self.size)
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.frame_count = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def frames(self, stop: threading.Event, limit: int | None = None) -> Iterator[np.ndarray]:
        """uint8 (H, W, 3) RGB frames until ``stop`` is set (or ``limit`` frames were given);
        StudioError when none come."""
        if self._capture is None:
            self.open()
        assert self._capture is not None
        period = self._period()
        failures, next_due = 0, time.perf_counter()
        while not stop.is_set():
            ok, bgr = self._capture.read()
            if not ok:
                if self.source.is_file and self.frames_read > 0:
                    self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop like a live feed
                    continue
                failures += 1
                if failures >= READ_FAILURES_TO_GIVE_UP or self.source.is_file:
                    raise StudioError(f"{self.source.label}: no frames from this source",
                                      hint="check the cable or choose a video file")
                time.sleep(0.03)
                continue
            failures = 0
            self.frames_read += 1
            yield self._prepare(bgr)
            if limit is not None and self.frames_read >= limit:
                return
            if period:
                next_due = max(next_due + period, time.perf_counter() - period)
                stop.wait(max(0.0, next_due - time.perf_counter()))

    def _period(self) -> float:
        if not self.source.is_file:
            return 0.0  # a camera's read blocks until its next frame
        fps = self.fps if self.pace_fps is None else self.pace_fps
        return 1.0 / fps if 1.0 <= fps <= 240.0 else 0.0

    def _prepare(self, bgr: np.ndarray) -> np.ndarray:
        if self.size is not None:  # cameras may ignore the requested size
            bgr = fit_inside(bgr, self.size)
        if self.mirror:
            bgr = bgr[:, ::-1]
        return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def fit_inside(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Shrink to fit inside ``size`` (width, height) keeping the aspect ratio; never enlarges."""
    h, w = image.shape[:2]
    scale = min(size[0] / w, size[1] / h, 1.0)
    if scale >= 1.0:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)


def stylize_frame(stylizer: Stylizer, rgb: np.ndarray, *, strength: float = 1.0,
                  preserve_colors: bool = False, max_size: int | None = LIVE_WORKING_SIDE,
                  steady: TemporalFilter | None = None) -> np.ndarray:
    """One live frame, as webcam mode, the bench and video export all make it.

    Shrunk to at most ``max_size`` on the long side (None: full size), stylized there on the
    I/O-bound fast path when nothing else is asked, steadied by ``steady`` at that size (the
    network sees ``steady.hold`` of the frame, runs with the stream's steady norms on the fast
    path, and the output is blended), and scaled back to the frame's size.
    """
    height, width = rgb.shape[:2]
    small = _shrink(rgb, max_size, stylizer.multiple)
    h, w = small.shape[:2]
    m = stylizer.multiple
    seen = small if steady is None else steady.hold(small)
    if strength == 1.0 and not preserve_colors and not h % m and not w % m \
            and stylizer.accepts_any_size:
        out = stylizer.run_frame(seen) if steady is None else steady.network(stylizer)(seen)
        out = stylizer.keep_darks(out, seen)
    else:
        out = stylizer.stylize(seen, strength=strength, preserve_colors=preserve_colors)
    if steady is not None:
        out = steady(small, out)
    if (h, w) != (height, width):
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
    return out


def _shrink(rgb: np.ndarray, max_size: int | None, multiple: int) -> np.ndarray:
    """The frame with its long side at most ``max_size``, sides in steps of ``multiple``."""
    height, width = rgb.shape[:2]
    if max_size is None or max(height, width) <= max_size:
        return rgb
    scale = max_size / max(height, width)
    size = (max(multiple, round(width * scale) // multiple * multiple),
            max(multiple, round(height * scale) // multiple * multiple))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


SOURCE_FLOOR = 0.1  # TemporalFilter.hold's weight of a new frame where the source holds still
SOURCE_GRAIN = 2.0  # grey levels (std) of the fixed grain TemporalFilter.hold lays on its frame
MOTION_SPREAD = 5  # px: the square around a clear move that counts as moving too


class TemporalFilter:
    """Motion-adaptive smoothing of a stylized stream, so still parts of the scene hold still.

    A tiny network turns sensor noise and compression flicker into shimmering strokes (on the
    shared pedestrian clip, still pixels changed 3-4x as much as in the source). Each output
    pixel moves towards the new stylized frame by a weight that grows with how much the
    (blurred) source moved there: 1 where it moved by ``motion_levels`` grey levels or more,
    ``floor`` where it did not move at all, so moving things never trail. A clear move also
    counts for the ``spread`` px square around it: a car's flat side changes by a few grey
    levels between frames, and blending there smeared its strokes (Starry Night's judge +14%
    on the traffic clip; +9% with the spread). ``reset`` when the style or the stream changes.

    The network itself runs with this stream's steady norms (``network``): instance-norm
    statistics measured every few frames and averaged, folded into the convs.

    Per frame: one motion map (grey + 5x5 box blur, absdiff, threshold, dilation), shared by
    ``hold`` and the output blend when both see the same frame, then per blend two
    ``cv2.LUT`` lookups (the weight and its complement, into buffers kept between frames) and
    one ``cv2.blendLinear``, which makes a fresh output (callers may still hold the last one).
    Numpy's fancy-indexed lookup and ``1 - weight`` cost about as much as the blend itself; the
    output is the same.
    """

    def __init__(self, floor: float = 0.15, motion_levels: float = 16.0,
                 source_floor: float | None = SOURCE_FLOOR, spread: int = MOTION_SPREAD
                 ) -> None:
        self._clear_move = motion_levels - 1  # threshold: above it, a move spreads
        self._spread = (cv2.getStructuringElement(cv2.MORPH_RECT, (spread, spread))
                        if spread > 1 else None)
        self._output = _Blend(floor, motion_levels)
        # the same smoothing of the source itself, before the network (None: none)
        self._source = None if source_floor is None else _Blend(source_floor, motion_levels)
        # hold()'s fixed grain as two uint8 (H, W, 3) arrays, what it adds and what it takes
        # away: two saturating uint8 ops, ~6x faster than adding one int16 array
        self._grain: tuple[np.ndarray, np.ndarray] | None = None
        self._grey: np.ndarray | None = None  # (H, W) uint8, blurred source of the last frame
        self._held: np.ndarray | None = None  # the frame hold() made the motion map of ...
        self._moved: np.ndarray | None = None  # ... and that map, for the output blend
        self._norms_of: Stylizer | None = None  # the stylizer network() last ran ...
        self._norms: SteadyNorms | None = None  # ... and its steady norms (None: not foldable)

    def reset(self) -> None:
        self._grey = self._grain = self._held = self._moved = None
        self._output.reset()
        if self._source is not None:
            self._source.reset()
        if self._norms is not None:
            self._norms.reset()

    def network(self, stylizer: Stylizer) -> Callable[[np.ndarray], np.ndarray]:
        """This stream's network for ``stylizer``'s frames: its norms steadied and folded
        (``SteadyNorms``: ~1.3x faster on average, the tone no longer follows sensor noise),
        or the plain frame path for a model whose norms do not fold."""
        if self._norms_of is not stylizer:
            self._norms_of, self._norms = stylizer, stylizer.steady_norms()
        return self._norms or stylizer.run_frame

    def hold(self, source: np.ndarray) -> np.ndarray:
        """The frame the network should see: ``source`` smoothed where it holds still.

        Why both sides: blending outputs alone left Starry Night's still pixels changing
        1.41x as much as the source's on the pedestrian clip (its patch-stage strokes turn
        sensor noise into shimmer; the goal is 1.2); averaging the noise away before the
        network took that to 0.92 (traffic clip: 0.92 -> 0.45) without blending more strokes.
        The averaging also takes away the fine texture these styles paint strokes from (the
        judge's distance on still scenes +3%), so a fixed grain of ``SOURCE_GRAIN`` levels,
        the same every frame, gives it back without bringing back the shimmer.
        """
        if self._source is None:
            return source
        self._held, self._moved = source, self._motion(source)
        held = self._source(self._moved, source)
        if self._grain is None or self._grain[0].shape != held.shape:
            rng = np.random.default_rng(0)
            grain = np.rint(rng.normal(0, SOURCE_GRAIN, held.shape))
            self._grain = (np.clip(grain, 0, 255).astype(np.uint8),
                           np.clip(-grain, 0, 255).astype(np.uint8))
        lift, lower = self._grain
        return cv2.subtract(cv2.add(held, lift), lower)

    def __call__(self, source: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) RGB source and its stylized frame -> the steadied frame."""
        # hold() saw this very frame: its motion map is this one's
        moved = self._moved if source is self._held else self._motion(source)
        self._held = None
        return self._output(moved, stylized)

    def _motion(self, source: np.ndarray) -> np.ndarray | None:
        """Grey levels the blurred ``source`` moved by since the last frame, clear moves
        spread; None for a first frame (or one of a new size)."""
        grey = cv2.blur(cv2.cvtColor(source, cv2.COLOR_RGB2GRAY), (5, 5))
        previous, self._grey = self._grey, grey
        if previous is None or previous.shape != grey.shape:
            return None
        moved = cv2.absdiff(grey, previous)  # (H, W) uint8 grey levels
        if self._spread is not None:
            _, clear = cv2.threshold(moved, self._clear_move, 255, cv2.THRESH_BINARY)
            moved = cv2.max(moved, cv2.dilate(clear, self._spread))
        return moved


class _Blend:
    """One running blend: each pixel moves towards the new frame by a weight looked up from
    how far the source moved there (``floor`` when still, 1 from ``motion_levels`` on)."""

    def __init__(self, floor: float, motion_levels: float) -> None:
        levels = np.arange(256, dtype=np.float32)
        self._weight_of = np.clip(levels / motion_levels, floor, 1.0)  # by grey levels moved
        self._keep_of = (1.0 - self._weight_of).astype(np.float32)  # the complement
        self._out: np.ndarray | None = None  # (H, W, 3) uint8, the last output
        self._weight: np.ndarray | None = None  # (H, W) float32 buffers, reused per frame
        self._keep: np.ndarray | None = None

    def reset(self) -> None:
        self._out = None

    def __call__(self, moved: np.ndarray | None, frame: np.ndarray) -> np.ndarray:
        if moved is None or self._out is None or self._out.shape != frame.shape:
            self._out = frame
            return frame
        if self._weight is None or self._weight.shape != moved.shape:
            self._weight = np.empty(moved.shape, np.float32)
            self._keep = np.empty(moved.shape, np.float32)
        cv2.LUT(moved, self._weight_of, dst=self._weight)
        cv2.LUT(moved, self._keep_of, dst=self._keep)
        self._out = cv2.blendLinear(frame, self._out, self._weight, self._keep)
        return self._out
