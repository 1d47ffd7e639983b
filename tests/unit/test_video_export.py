"""engine.runtime.video: real PyAV clips in tmp_path through a bundled style in ONNX Runtime."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from video_cases import BAD_VIDEOS, CLIP_FPS, CLIP_FRAMES, make_clip, read_video

from engine.errors import Cancelled, StudioError, VideoFormatError
from engine.progress import CancelToken
from engine.runtime.flicker import measure_flicker
from engine.runtime.stylizer import Stylizer
from engine.runtime.video import probe_video, stylize_video
from engine.styles import find_style

STYLE = "great-wave"  # a bundled style: the real network the app ships


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return Stylizer(find_style(STYLE).path)


def leftovers(folder: Path) -> list[str]:
    """Files an export may have left: its temp (hidden) or any output."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or "out" in p.name)


def assert_same_timing(source: Path, result: Path) -> None:
    before, after = read_video(source), read_video(result)
    assert after.frames == before.frames
    assert after.fps == pytest.approx(before.fps, rel=0.01)
    assert abs(after.duration_s - before.frames / before.fps) <= 1 / before.fps
    assert after.video_codec == "h264"


def test_export_keeps_frames_rate_length_and_copies_audio(tmp_path, stylizer):
    clip = make_clip(tmp_path / "clip.mp4")
    seen: list[tuple[float, str]] = []
    result = stylize_video(clip, tmp_path / "out.mp4", stylizer,
                           progress=lambda f, m: seen.append((f, m)))
    assert (result.frames, result.video_codec, result.audio) == \
        (CLIP_FRAMES, "libx264", "copied aac")
    assert_same_timing(clip, result.path)
    source, out = read_video(clip), read_video(result.path)
    assert out.audio_codec == "aac"
    assert out.audio_s == pytest.approx(source.audio_s, abs=0.01)  # the same packets
    assert abs(out.audio_s - CLIP_FRAMES / CLIP_FPS) < 0.1
    assert np.abs(out.first.astype(int) - source.first).mean() > 10  # it was stylized
    assert len(seen) == CLIP_FRAMES and seen[-1] == (1.0, f"frame {CLIP_FRAMES} of {CLIP_FRAMES}")
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    assert leftovers(tmp_path) == ["out.mp4"]


def test_pcm_audio_is_reencoded_for_mp4_and_copied_into_mkv(tmp_path, stylizer):
    clip = make_clip(tmp_path / "clip.mkv", audio="pcm_s16le")
    to_mp4 = stylize_video(clip, tmp_path / "out.mp4", stylizer)
    to_mkv = stylize_video(clip, tmp_path / "out.mkv", stylizer)
    assert (to_mp4.audio, to_mkv.audio) == ("pcm_s16le -> aac", "copied pcm_s16le")
    for result, codec in ((to_mp4, "aac"), (to_mkv, "pcm_s16le")):
        assert_same_timing(clip, result.path)
        facts = read_video(result.path)
        assert facts.audio_codec == codec
        assert abs(facts.audio_s - CLIP_FRAMES / CLIP_FPS) < 0.1


def test_clip_without_audio(tmp_path, stylizer):
    clip = make_clip(tmp_path / "silent.mp4", audio=None)
    result = stylize_video(clip, tmp_path / "out.mov", stylizer)
    assert result.audio == "" and read_video(result.path).audio_codec == ""
    assert_same_timing(clip, result.path)


def test_odd_size_loses_its_last_row_and_column(tmp_path, stylizer):
    clip = make_clip(tmp_path / "odd.mkv", size=(97, 65), audio=None)
    assert probe_video(clip).width == 97
    result = stylize_video(clip, tmp_path / "out.mp4", stylizer)
    assert read_video(result.path).size == (96, 64)  # yuv420p needs even sides


def test_cancel_midway_leaves_no_file(tmp_path, stylizer):
    clip = make_clip(tmp_path / "clip.mp4")
    token = CancelToken()
    done: list[float] = []

    def cancel_at_five(fraction: float, message: str) -> None:
        done.append(fraction)
        if len(done) == 5:
            token.cancel()

    with pytest.raises(Cancelled):
        stylize_video(clip, tmp_path / "out.mp4", stylizer, progress=cancel_at_five,
                      cancel=token)
    assert len(done) == 5  # stopped at the next frame
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("case", sorted(BAD_VIDEOS))
def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path, stylizer, case):
    build, phrase = BAD_VIDEOS[case]
    bad = build(tmp_path)
    with pytest.raises(VideoFormatError) as caught:
        stylize_video(bad, tmp_path / "out.mp4", stylizer)
    assert caught.value.message.startswith(f"{bad}: ") and phrase in caught.value.message
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name, phrase", [("out.avi", "cannot write a video with this extension"),
                                          ("clip.mp4", "would replace the input"),
                                          ("sub/out.mp4", "cannot write here")])
def test_bad_output_is_refused_before_any_work(tmp_path, stylizer, name, phrase):
    clip = make_clip(tmp_path / "clip.mp4")
    before = clip.read_bytes()
    (tmp_path / "sub").write_text("a file where a folder should be")
    with pytest.raises(StudioError, match=phrase):
        stylize_video(clip, tmp_path / name, stylizer)
    assert clip.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_steady_export_shimmers_less_on_still_parts(tmp_path, stylizer):
    """The temporal filter reaches the file: measured on the decoded exports, like live."""
    clip = make_clip(tmp_path / "noisy.mp4", frames=30, noise=3, audio=None)
    static = {}
    for steady in (False, True):
        out = stylize_video(clip, tmp_path / f"out-{steady}.mp4", stylizer, steady=steady)
        frames = iter([f for f in _decode(out.path)])
        static[steady] = measure_flicker(lambda rgb, frames=frames: next(frames), clip).static
    assert static[True] < 0.8 * static[False], static


def _decode(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.slow  # ~40 s on a busy 2-core machine: 300 frames at 640x480
def test_shared_clips_keep_their_timing(tmp_path, stylizer, shared_data):
    """The curated 640x480 clips (150 frames each, 10 and 30 fps, no audio)."""
    clips = sorted((shared_data / "video").glob("*.mp4"))
    if not clips:
        pytest.skip(f"no clips in {shared_data / 'video'}")
    for clip in clips:
        local = Path(shutil.copy(clip, tmp_path / clip.name))
        result = stylize_video(local, tmp_path / f"{clip.stem}-out.mp4", stylizer)
        assert result.frames == probe_video(clip).frames
        assert_same_timing(local, result.path)
