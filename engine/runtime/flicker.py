"""How much a style flickers on video: stylized frame-to-frame change over the source's.

A stable style changes its output about as much as the scene changes (ratio ~1). Per-frame
instance-norm statistics and a network that amplifies sensor noise make the output shimmer where
nothing moves, so the ratio is also taken on *static* pixels: those whose source colour moves by
at most ``STATIC_LEVELS`` between the two frames.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import StudioError
from engine.runtime.capture import CaptureSource
from engine.runtime.live import LiveFeed

STATIC_LEVELS = 4  # grey levels of source change below which a pixel counts as not moving

# uint8 (H, W, 3) RGB frame -> its stylized version, same shape
FrameStylizer = Callable[[np.ndarray], np.ndarray]


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
    feed = LiveFeed(CaptureSource(path=str(video)), size=size, pace_fps=0)
    feed.open()
    count = min(frames, feed.frame_count) if feed.frame_count else frames  # never the loop seam
    if count < 2:
        feed.close()
        raise StudioError(f"{video}: need at least 2 frames to measure flicker")
    sums = np.zeros(4)  # |d source|, |d stylized| over all pixels; the same over static pixels
    static_pixels = total_pixels = 0
    previous = None
    try:
        for rgb in feed.frames(threading.Event(), limit=count):
            out = stylize(rgb).astype(np.int16)
            src = rgb.astype(np.int16)
            if previous is not None:
                d_src = np.abs(src - previous[0])
                d_out = np.abs(out - previous[1])
                still = d_src.max(axis=2) <= STATIC_LEVELS
                sums += (d_src.sum(), d_out.sum(), d_src[still].sum(), d_out[still].sum())
                static_pixels += int(still.sum())
                total_pixels += still.size
            previous = (src, out)
    finally:
        feed.close()
    if static_pixels == 0:
        raise StudioError(f"{video}: no pixel stays still, so static flicker is undefined")
    return Flicker(frames=feed.frames_read, overall=sums[1] / max(sums[0], 1.0),
                   static=sums[3] / max(sums[2], 1.0), static_share=static_pixels / total_pixels)
