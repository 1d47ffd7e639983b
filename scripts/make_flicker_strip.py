"""A before/after strip of live video: 4 consecutive stylized frames, raw and steadied.

Rows: the network's raw output, then with webcam mode's TemporalFilter. The last column is the
change between the first and last frame (x4), where shimmer on still ground shows as speckle.

    python scripts/make_flicker_strip.py starry-night /path/clip.mp4 docs/flicker/strip.jpg
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import cv2
import numpy as np

from engine.runtime.capture import CaptureSource
from engine.runtime.live import LiveFeed, TemporalFilter, stylize_frame
from engine.runtime.stylizer import Stylizer
from engine.styles import find_style

START, COUNT = 60, 4  # frames 60..63: pedestrians walking over still ground
CROP = (slice(120, 360), slice(160, 480))  # rows, columns of a 640x480 frame


def main(style: str, video: Path, out: Path) -> None:
    stylizer, steady = Stylizer(find_style(style).path, threads=2), TemporalFilter()
    feed = LiveFeed(CaptureSource(path=str(video)), size=(640, 480), pace_fps=0)
    raw_frames, steady_frames = [], []
    for i, rgb in enumerate(feed.frames(threading.Event(), limit=START + COUNT)):
        raw = stylize_frame(stylizer, rgb)
        held = steady(rgb, raw)  # every frame, so the filter has its history
        if i >= START:
            raw_frames.append(raw[CROP])
            steady_frames.append(held[CROP])
    feed.close()
    rows = []
    for frames in (raw_frames, steady_frames):
        change = np.abs(frames[-1].astype(int) - frames[0]) * 4
        rows.append(np.hstack([*frames, np.clip(change, 0, 255).astype(np.uint8)]))
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(out)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
