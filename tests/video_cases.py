"""Video files for tests, written with PyAV: short clips with and without audio, and bad ones.

Shared by the engine, CLI and GUI tests of video export, so every bad input is checked at each
level from one table (``BAD_VIDEOS``). ``read_video`` decodes a result to check what it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CLIP_FRAMES = 24
CLIP_FPS = 12
CLIP_SIZE = (96, 64)  # width, height
SAMPLE_RATE = 22050
TONE_HZ = 440


def clip_frame(index: int, size: tuple[int, int] = CLIP_SIZE, noise: int = 0) -> np.ndarray:
    """uint8 (H, W, 3) RGB: a still gradient with a bright bar moving right 3 px per frame;
    ``noise`` adds up to that many grey levels of sensor-like noise (seeded by the index)."""
    width, height = size
    rows, cols = np.mgrid[0:height, 0:width]
    rgb = np.stack([cols * 255 // width, rows * 255 // height, np.full_like(rows, 90)], axis=2)
    x = index * 3 % width
    rgb[height // 4: height // 2, x: x + 10] = (250, 240, 60)
    if noise:
        rng = np.random.default_rng(index)
        rgb = rgb + rng.integers(-noise, noise + 1, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def make_clip(path: Path, *, frames: int = CLIP_FRAMES, fps: int = CLIP_FPS,
              size: tuple[int, int] = CLIP_SIZE, audio: str | None = "aac",
              video: bool = True, noise: int = 0) -> Path:
    """H.264 frames (4:4:4 for odd sizes) and a sine tone as long as the video in ``audio``'s
    codec (None: no audio track; ``video=False``: audio only)."""
    with av.open(str(path), "w") as out:
        stream = None
        if video:
            stream = out.add_stream("libx264", rate=fps)
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p" if size[0] % 2 == size[1] % 2 == 0 else "yuv444p"
        sound = out.add_stream(audio, rate=SAMPLE_RATE, layout="mono") if audio else None
        for i in range(frames if stream else 0):
            frame = av.VideoFrame.from_ndarray(clip_frame(i, size, noise), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        if stream:
            out.mux(stream.encode(None))
        if sound:
            _write_tone(out, sound, frames / fps)
    return path


def _write_tone(out: av.container.OutputContainer, sound: av.AudioStream,
                seconds: float) -> None:
    count = round(SAMPLE_RATE * seconds)
    tone = 0.3 * np.sin(2 * np.pi * TONE_HZ * np.arange(count) / SAMPLE_RATE)
    for start in range(0, count, 1024):
        chunk = tone[start: start + 1024].astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate, frame.pts = SAMPLE_RATE, start
        frame.time_base = Fraction(1, SAMPLE_RATE)
        out.mux(sound.encode(frame))
    out.mux(sound.encode(None))


@dataclass(frozen=True)
class VideoFacts:
    """What a video file holds, found by decoding all of it."""

    frames: int
    fps: float  # the video stream's average rate
    duration_s: float  # the video stream's duration (Matroska: from the frames' timestamps)
    size: tuple[int, int]
    video_codec: str
    audio_codec: str  # "" without audio
    audio_s: float  # decoded audio samples / rate, 0 without audio
    first: np.ndarray  # uint8 (H, W, 3) RGB of the first frame


def read_video(path: Path) -> VideoFacts:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(video=0))
        frames = [f.to_ndarray(format="rgb24") for f in decoded]
        fps = float(stream.average_rate)
        duration = float(stream.duration * stream.time_base) if stream.duration else \
            decoded[-1].time - decoded[0].time + 1 / fps
        info = (len(frames), fps, duration,
                (stream.codec_context.width, stream.codec_context.height),
                stream.codec_context.name)
    audio_codec, audio_s = "", 0.0
    with av.open(str(path)) as container:
        if container.streams.audio:
            audio = container.streams.audio[0]
            audio_codec = audio.codec_context.name
            audio_s = sum(f.samples for f in container.decode(audio=0)) / audio.rate
    return VideoFacts(*info, audio_codec, audio_s, frames[0])


def _garbled(folder: Path) -> Path:
    """A real clip whose bytes after the first 200 are overwritten (header and data)."""
    data = bytearray(make_clip(folder / "garbled.mp4").read_bytes())
    data[200:] = bytes((i * 37 + 11) % 256 for i in range(len(data) - 200))
    (folder / "garbled.mp4").write_bytes(bytes(data))
    return folder / "garbled.mp4"


def _truncated(folder: Path) -> Path:
    data = make_clip(folder / "truncated.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    return folder / "truncated.mp4"


def _text(folder: Path) -> Path:
    (folder / "notes.mp4").write_text("shopping list\nmilk\n")
    return folder / "notes.mp4"


def _photo(folder: Path) -> Path:
    from PIL import Image

    Image.fromarray(clip_frame(0)).save(folder / "photo.mp4", format="PNG")
    return folder / "photo.mp4"


# name -> (make the bad file in a folder, a phrase its error must contain)
BAD_VIDEOS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "garbled": (_garbled, "not a video file"),
    "truncated": (_truncated, "not a video file"),
    "text": (_text, "not a video file"),
    "photo": (_photo, "not a video"),
    "audio-only": (lambda folder: make_clip(folder / "song.mp4", video=False), "no video track"),
    "missing": (lambda folder: folder / "missing.mp4", "not found"),
}
