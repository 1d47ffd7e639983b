"""`tinystyle stylize clip.mp4`: a real clip in tmp_path through a bundled style, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from video_cases import BAD_VIDEOS, CLIP_FPS, CLIP_FRAMES, make_clip, read_video

STYLE = "great-wave"


def outputs(folder: Path, source: Path) -> list[str]:
    """Everything in ``folder`` besides ``source``: outputs and temps (hidden)."""
    return sorted(p.name for p in folder.iterdir() if p != source)


def assert_clear_error(code: int, out: str, err: str, *names: object) -> None:
    assert code == 2 and out == ""
    first = err.splitlines()[0]
    assert first.startswith("error: ") and all(str(n) in first for n in names), err
    assert "Traceback" not in err


def test_video_beside_its_input_keeps_rate_length_and_audio(tmp_path, run_cli):
    clip = make_clip(tmp_path / "clip.mp4")
    code, out, err = run_cli("stylize", clip, "--style", STYLE)
    assert code == 0, err
    target = tmp_path / f"clip-{STYLE}.mp4"
    assert out.splitlines() == [str(target)]
    facts = read_video(target)
    assert facts.frames == CLIP_FRAMES
    assert facts.fps == pytest.approx(CLIP_FPS, rel=0.01)
    assert abs(facts.duration_s - CLIP_FRAMES / CLIP_FPS) <= 1 / CLIP_FPS
    assert facts.audio_codec == "aac" and abs(facts.audio_s - CLIP_FRAMES / CLIP_FPS) < 0.1
    assert outputs(tmp_path, clip) == [target.name]


def test_output_name_and_no_steady(tmp_path, run_cli):
    clip = make_clip(tmp_path / "silent.mov", audio=None)
    code, out, err = run_cli("stylize", clip, "--style", STYLE, "-o", tmp_path / "out.mkv",
                             "--no-steady")
    assert code == 0, err
    facts = read_video(Path(out.strip()))
    assert (facts.frames, facts.audio_codec) == (CLIP_FRAMES, "")


@pytest.mark.parametrize("case", sorted(BAD_VIDEOS))
def test_bad_video_is_one_error_line_and_no_file(tmp_path, run_cli, case):
    build, phrase = BAD_VIDEOS[case]
    bad = build(tmp_path)
    code, out, err = run_cli("stylize", bad, "--style", STYLE, "-o", tmp_path / "out.mp4")
    assert_clear_error(code, out, err, bad, phrase)
    assert not (tmp_path / "out.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("extra, phrase", [
    (["-o", "out.avi"], "cannot write a video with this extension"),
    (["--format", "png"], "--format and --tile-size are for images"),
    (["photo.jpg"], "stylized on its own"),
])
def test_misuse_is_refused(tmp_path, run_cli, monkeypatch, extra, phrase):
    monkeypatch.chdir(tmp_path)
    clip = make_clip(tmp_path / "clip.mp4")
    code, out, err = run_cli("stylize", clip, *extra, "--style", STYLE)
    assert_clear_error(code, out, err, phrase)
    assert outputs(tmp_path, clip) == []


def test_existing_output_needs_overwrite(tmp_path, run_cli):
    clip = make_clip(tmp_path / "clip.mp4", frames=6)
    target = tmp_path / "taken.mp4"
    target.write_bytes(b"keep me")
    code, out, err = run_cli("stylize", clip, "--style", STYLE, "-o", target)
    assert_clear_error(code, out, err, target, "already exists")
    assert target.read_bytes() == b"keep me"
    code, _, err = run_cli("stylize", clip, "--style", STYLE, "-o", target, "--overwrite")
    assert code == 0, err
    assert read_video(target).frames == 6
