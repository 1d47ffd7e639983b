"""How much a style flickers on video: stylized frame-to-frame change over the source's.

A stable style changes its output about as much as the scene changes (ratio ~1). Per-frame
instance-norm statistics and a network that amplifies sensor noise make the output shimmer where
nothing moves, so the ratio is also taken on *static* pixels: those whose source colour moves by
at most ``STATIC_LEVELS`` between the two frames.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.errors import StudioError
from engine.runtime.capture import CaptureSource
from engine.runtime.live import LiveFeed, TemporalFilter, stylize_frame

if TYPE_CHECKING:
    from engine.runtime.stylizer import Stylizer

STATIC_LEVELS = 4  # grey levels of source change below which a pixel counts as not moving

# uint8 (H, W, 3) RGB frame -> its stylized version, same shape
FrameStylizer = Callable[[np.ndarray], np.ndarray]
# the same frame -> several stylized streams of it (e.g. raw and steadied), each the same shape
StreamsStylizer = Callable[[np.ndarray], Sequence[np.ndarray]]


@dataclass(frozen=True)
class Flicker:
    """Mean absolute change between consecutive frames, stylized over source."""

    frames: int
    overall: float  # ratio over every pixel
    static: float  # ratio over pixels that do not move in the source
    static_share: float  # fraction of pixel pairs that were static


def measure_flicker(stylize: FrameStylizer, video: Path, *, frames: int = 150,
                    size: tuple[int, int] = (640, 480)) -> Flicker:
    """Run ``stylize`` over the first ``frames`` frames of ``video`` (never past its end)."""
    return measure_flickers(lambda rgb: (stylize(rgb),), video, frames=frames, size=size)[0]


def measure_flickers(stylize: StreamsStylizer, video: Path, *, frames: int = 150,
                     size: tuple[int, int] = (640, 480)) -> tuple[Flicker, ...]:
    """``measure_flicker`` of several streams made from the same frames in one pass (e.g. the
    raw and the steadied stream; see ``raw_and_steadied``): one Flicker per
    stream, in the order ``stylize`` returns them."""
    feed = LiveFeed(CaptureSource(path=str(video)), size=size, pace_fps=0)
    feed.open()
    count = min(frames, feed.frame_count) if feed.frame_count else frames  # never the loop seam
    if count < 2:
        feed.close()
        raise StudioError(f"{video}: need at least 2 frames to measure flicker")
    d_src_sums = np.zeros(2)  # |d source| over all pixels, over static pixels
    d_out_sums: np.ndarray | None = None  # (streams, 2) the same for each stylized stream
    static_pixels = total_pixels = 0
    previous = None
    try:
        for rgb in feed.frames(threading.Event(), limit=count):
            outs = [out.astype(np.int16) for out in stylize(rgb)]
            src = rgb.astype(np.int16)
            if previous is not None:
                d_src = np.abs(src - previous[0])
                still = d_src.max(axis=2) <= STATIC_LEVELS
                d_src_sums += (d_src.sum(), d_src[still].sum())
                if d_out_sums is None:
                    d_out_sums = np.zeros((len(outs), 2))
                for i, (out, before) in enumerate(zip(outs, previous[1], strict=True)):
                    d_out = np.abs(out - before)
                    d_out_sums[i] += (d_out.sum(), d_out[still].sum())
                static_pixels += int(still.sum())
                total_pixels += still.size
            previous = (src, outs)
    finally:
        feed.close()
    if static_pixels == 0:
        raise StudioError(f"{video}: no pixel stays still, so static flicker is undefined")
    assert d_out_sums is not None
    return tuple(Flicker(frames=feed.frames_read, overall=overall / max(d_src_sums[0], 1.0),
                         static=static / max(d_src_sums[1], 1.0),
                         static_share=static_pixels / total_pixels)
                 for overall, static in d_out_sums)


def raw_and_steadied(stylizer: Stylizer, steady: TemporalFilter, **live: object
                     ) -> StreamsStylizer:
    """Frame -> (raw, steadied), each as ``stylize_frame`` makes it without and with ``steady``
    (``live``: its other keywords). Two network runs: the steadied stream's network sees
    ``steady.hold`` of the frame."""

    def both(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (stylize_frame(stylizer, rgb, **live),
                stylize_frame(stylizer, rgb, steady=steady, **live))

    return both
