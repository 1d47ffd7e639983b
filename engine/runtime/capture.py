"""Live video sources: a camera index or a video file, both read with OpenCV.

Probing and opening only; ``engine.runtime.live.LiveFeed`` reads the frames (video files
paced at their own frame rate and looped, so they behave like a camera).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2

from engine.errors import StudioError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
PROBE_MAX_INDEX = 4  # cameras 0..3; higher indices are rare and each probe costs time
RESOLUTIONS: dict[str, tuple[int, int] | None] = {
    "Native": None, "320 x 240": (320, 240), "640 x 480": (640, 480), "1280 x 720": (1280, 720),
}


@dataclass(frozen=True)
class CaptureSource:
    """A camera (``index``) or a video file (``path``)."""

    index: int | None = None
    path: str = ""

    @property
    def label(self) -> str:
        return Path(self.path).name if self.path else f"Camera {self.index}"

    @property
    def is_file(self) -> bool:
        return bool(self.path)

    def key(self) -> str:
        """A settings-friendly string: ``camera:0`` or ``file:/path``."""
        return f"file:{self.path}" if self.path else f"camera:{self.index}"

    @classmethod
    def from_key(cls, key: str) -> CaptureSource | None:
        kind, _, value = key.partition(":")
        if kind == "file" and value:
            return cls(path=value)
        if kind == "camera" and value.isdigit():
            return cls(index=int(value))
        return None


def probe_cameras(max_index: int = PROBE_MAX_INDEX) -> list[CaptureSource]:
    """Cameras OpenCV can open and read a frame from. Slow (seconds): call off the UI thread."""
    found = []
    for index in range(max_index):
        if not _camera_device_may_exist(index):
            continue
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened() and cap.read()[0]:
                found.append(CaptureSource(index=index))
        finally:
            cap.release()
    return found


def _camera_device_may_exist(index: int) -> bool:
    """On Linux a camera is a /dev/videoN node: skip OpenCV's noisy failure when there is none."""
    if os.name == "posix" and Path("/dev").is_dir() and not Path("/sys/class/video4linux").exists():
        return Path(f"/dev/video{index}").exists()
    return True


def open_capture(source: CaptureSource, size: tuple[int, int] | None = None) -> cv2.VideoCapture:
    """Open ``source`` or raise a StudioError saying what to try."""
    if source.is_file:
        if not Path(source.path).is_file():
            raise StudioError(f"{source.path}: video file not found")
        cap = cv2.VideoCapture(source.path)
        if not cap.isOpened():
            cap.release()
            raise StudioError(f"{source.path}: cannot read this video",
                              hint="try an MP4 or AVI file")
        return cap
    cap = cv2.VideoCapture(source.index)
    if not cap.isOpened():
        cap.release()
        raise StudioError(f"camera {source.index}: cannot open it",
                          hint="close other apps using the camera, or choose a video file")
    if size is not None:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
    return cap
