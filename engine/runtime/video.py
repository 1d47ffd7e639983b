"""Stylize a video file into a new one: every frame through the live path, the audio kept.

PyAV (FFmpeg inside its wheel) decodes and encodes, because OpenCV's writer cannot carry an
audio track. Frames keep their source timestamps, so the result has the source's length and
frame rate (variable-rate clips included) and the audio stays in sync. Audio packets are copied
unchanged when the output container takes their codec, else re-encoded to AAC. Frames go
through ``stylize_frame`` and, by default, the live view's ``TemporalFilter``, so still parts
of the scene hold still instead of shimmering. The output is written atomically.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.errors import VideoFormatError
from engine.io.files import atomic_path, check_file_name
from engine.progress import CancelToken, Progress, no_progress
from engine.runtime.live import TemporalFilter, stylize_frame

if TYPE_CHECKING:
    import av

    from engine.runtime.stylizer import Stylizer

log = logging.getLogger(__name__)

OUTPUT_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
# H.264 first (PyAV's wheels build libx264 in); MPEG-4 Part 2 plays nearly everywhere too.
VIDEO_CODECS = ("libx264", "h264", "mpeg4")
# crf 18 is close to transparent: the strokes are fine detail that a lower rate smears.
VIDEO_OPTIONS = {"libx264": {"crf": "18", "preset": "veryfast"}}
FALLBACK_AUDIO_CODEC = "aac"
# FFmpeg also muxes PCM (and more) into MP4, but players expect these there; others go to AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"})
FALLBACK_FPS = Fraction(30)  # a stream that declares no rate at all (rare): timestamps still rule
# Demuxers that open a still image (image2, png_pipe, jpeg_pipe...) or text (tty) as a video of
# one frame: not a clip to stylize.
NOT_VIDEO_FORMATS = ("image2", "tty")
UNREADABLE_HINT = "try an MP4, MOV, MKV, AVI or WebM file"


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe_video`` learns from a file's header, without decoding it."""

    path: Path
    width: int
    height: int
    fps: float  # average frame rate, 0 when the file does not say
    frames: int  # frame count from the header or estimated from the duration, 0 when unknown
    duration_s: float  # 0 when unknown
    audio_codec: str  # "" when the file has no audio track


@dataclass(frozen=True)
class VideoExport:
    """A finished ``stylize_video``: what was written and how."""

    path: Path
    frames: int
    video_codec: str  # the encoder used, e.g. "libx264"
    audio: str  # "copied <codec>", "<codec> -> aac", or "" when the source had no audio


def output_format(target: str | os.PathLike) -> str:
    """The container for ``target``'s suffix; VideoFormatError for a suffix we do not write."""
    fmt = OUTPUT_FORMATS.get(Path(target).suffix.lower())
    if fmt is None:
        raise VideoFormatError(f"{target}: cannot write a video with this extension",
                               hint=f"use {', '.join(OUTPUT_FORMATS)}")
    return fmt


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Size, rate, frame count and audio of ``path``; VideoFormatError if it is not a video."""
    path = Path(path)
    with _open_input(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        duration_s = _duration_s(container, stream)
        frames = stream.frames or round(duration_s * fps)
        audio = container.streams.audio
        return VideoInfo(path, stream.codec_context.width, stream.codec_context.height, fps,
                         frames, duration_s, audio[0].codec_context.name if audio else "")


def stylize_video(
    source: str | os.PathLike, target: str | os.PathLike, stylizer: Stylizer, *,
    strength: float = 1.0, preserve_colors: bool = False, max_size: int | None = None,
    steady: bool = True, progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> VideoExport:
    """Write ``source`` stylized to ``target`` (format by suffix), same size, rate and audio.

    Odd widths or heights lose their last column or row (H.264 in yuv420p needs even sides).
    ``progress`` gets the fraction done and "frame N of M" after each frame; ``cancel`` is
    checked between frames. On cancel or any error no file is left at ``target``.
    """
    source, target = Path(source), Path(target)
    fmt = output_format(target)
    check_file_name(target)
    if target.exists() and target.resolve() == source.resolve():
        raise VideoFormatError(f"{target}: output would replace the input video",
                               hint="choose another output name")
    info = probe_video(source)
    steadier = TemporalFilter() if steady else None
    with _open_input(source) as container, atomic_path(target) as tmp:
        import av

        video_in = container.streams.video[0]
        audio_in = container.streams.audio[0] if container.streams.audio else None
        with _closing_on_error(av.open(str(tmp), "w", format=fmt)) as output:
            writer = _Writer(output, video_in, audio_in, (info.width, info.height))
            done = 0
            for packet in _packets(container, source, video_in, audio_in):
                if packet.stream is audio_in:
                    if writer.copies_audio:
                        writer.copy_audio(packet)
                    else:
                        writer.encode_audio(_decoded(packet, source, done))
                    continue
                for frame in _decoded(packet, source, done):
                    if cancel is not None:
                        cancel.check()
                    rgb = writer.crop(frame.to_ndarray(format="rgb24"))
                    writer.video(stylize_frame(stylizer, rgb, strength=strength,
                                               preserve_colors=preserve_colors,
                                               max_size=max_size, steady=steadier), frame)
                    done += 1
                    total = max(info.frames, done)
                    progress(done / total, f"frame {done} of {total}")
            if done == 0:
                raise VideoFormatError(f"{source}: no picture could be decoded",
                                       hint="the file may be damaged; " + UNREADABLE_HINT)
            writer.finish()
    log.info("wrote %s: %d frames, %s, audio %s", target, done, writer.codec,
             writer.audio_note or "none")
    return VideoExport(target, done, writer.codec, writer.audio_note)


class _Writer:
    """The output container's streams: stylized frames in, audio copied or re-encoded."""

    def __init__(self, output: av.container.OutputContainer, video_in: av.VideoStream,
                 audio_in: av.AudioStream | None, size: tuple[int, int]) -> None:
        self.output = output
        self.width, self.height = size[0] - size[0] % 2, size[1] - size[1] % 2
        if self.width < 2 or self.height < 2:
            raise VideoFormatError(f"{size[0]}x{size[1]} px video: too small to encode")
        self.codec = next(c for c in VIDEO_CODECS if c in output.supported_codecs)
        self.rate = video_in.average_rate or video_in.guessed_rate or FALLBACK_FPS
        self.stream = output.add_stream(self.codec, rate=self.rate,
                                        options=VIDEO_OPTIONS.get(self.codec, {}))
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.codec_context.time_base = video_in.time_base  # the source's own clock
        self.time_base = video_in.time_base
        self._last_pts: int | None = None
        self.audio_out, self.audio_note, self.copies_audio = None, "", False
        if audio_in is not None:
            name = audio_in.codec_context.name
            self.copies_audio = name in output.supported_codecs and (
                output.format.name != "mp4" or name in MP4_AUDIO_CODECS)
            if self.copies_audio:
                self.audio_out = output.add_stream_from_template(audio_in)
                self.audio_note = f"copied {name}"
            else:
                self.audio_out = output.add_stream(FALLBACK_AUDIO_CODEC, rate=audio_in.rate,
                                                   layout=_named_layout(audio_in.layout))
                self.audio_note = f"{name} -> {FALLBACK_AUDIO_CODEC}"

    def crop(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) RGB -> even-sided, contiguous for the network."""
        return np.ascontiguousarray(rgb[: self.height, : self.width])

    def video(self, rgb: np.ndarray, source_frame: av.VideoFrame) -> None:
        """Encode ``rgb`` at the source frame's timestamp (a missing or repeated one is
        replaced by the next slot at the stream's rate: encoders need increasing stamps)."""
        import av

        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        pts = source_frame.pts
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            step = max(1, round(1 / (self.rate * self.time_base)))
            pts = (self._last_pts + step) if self._last_pts is not None else 0
        frame.pts, frame.time_base, self._last_pts = pts, self.time_base, pts
        if source_frame.duration:
            frame.duration = source_frame.duration
        self._mux(self.stream.encode(frame))

    def copy_audio(self, packet: av.Packet) -> None:
        if packet.dts is not None:  # the demuxer's empty end-of-stream packet has none
            packet.stream = self.audio_out
            self.output.mux(packet)

    def encode_audio(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            self._mux(self.audio_out.encode(frame))

    def finish(self) -> None:
        """Drain the encoders (they hold back frames to look ahead)."""
        self._mux(self.stream.encode(None))
        if self.audio_out is not None and not self.copies_audio:
            self._mux(self.audio_out.encode(None))

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            self.output.mux(packet)


@contextmanager
def _open_input(path: Path) -> Iterator[av.container.InputContainer]:
    """``path`` opened for reading, with a video stream; VideoFormatError otherwise."""
    import av

    if not path.is_file():
        raise VideoFormatError(f"{path}: video file not found" if not path.exists()
                               else f"{path}: not a file")
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoFormatError(f"{path}: not a video file this app can read ({_reason(exc)})",
                               hint=UNREADABLE_HINT) from None
    try:
        name = container.format.name
        if name in NOT_VIDEO_FORMATS or name.endswith("_pipe"):
            raise VideoFormatError(f"{path}: a still image or text, not a video",
                                   hint=UNREADABLE_HINT)
        if not container.streams.video:
            raise VideoFormatError(f"{path}: has no video track", hint=UNREADABLE_HINT)
        yield container
    finally:
        container.close()


@contextmanager
def _closing_on_error(output: av.container.OutputContainer
                      ) -> Iterator[av.container.OutputContainer]:
    """Close ``output`` however the block ends; a close error never hides the first error."""
    try:
        yield output
    except BaseException:
        try:
            output.close()
        except Exception:  # the half-written file is about to be deleted anyway
            log.debug("closing a failed video output", exc_info=True)
        raise
    output.close()


def _packets(container: av.container.InputContainer, path: Path, *streams: object
             ) -> Iterator[av.Packet]:
    """Demuxed packets of ``streams`` (None ones skipped); damage becomes a VideoFormatError."""
    import av

    packets = container.demux(*(s for s in streams if s is not None))
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            raise _damaged(path, exc) from None
        yield packet


def _decoded(packet: av.Packet, path: Path, done: int) -> list[av.VideoFrame | av.AudioFrame]:
    import av

    try:
        return packet.decode()
    except av.FFmpegError as exc:
        raise _damaged(path, exc, done) from None


def _damaged(path: Path, exc: Exception, frame: int | None = None) -> VideoFormatError:
    where = f" after frame {frame}" if frame else ""
    return VideoFormatError(f"{path}: damaged video data{where} ({_reason(exc)})",
                            hint="the file may be incomplete; " + UNREADABLE_HINT)


def _reason(exc: Exception) -> str:
    """FFmpeg's own words ("Invalid data found when processing input"), without the errno."""
    return str(getattr(exc, "strerror", "") or exc).split(":")[0]


def _named_layout(layout: av.AudioLayout) -> av.AudioLayout:
    """``layout``, or the usual one for its channel count when the source names none ("1
    channels" from raw PCM), which the AAC encoder refuses."""
    import av

    return av.AudioLayout(f"{layout.nb_channels}c") if layout.name.endswith("channels") \
        else layout


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else 0.0
