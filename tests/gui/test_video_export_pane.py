"""Webcam pane's "Export stylized video…": a real clip, a bundled style, the real job thread."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from video_cases import BAD_VIDEOS, CLIP_FPS, CLIP_FRAMES, make_clip, read_video

from engine.runtime.capture import CaptureSource
from engine.styles import find_style

STYLE = "great-wave"
PAUSE_AT = 3  # frames done before a test holds the export, so it is mid-way for certain


@pytest.fixture
def pane(window):
    window.state.set_style(STYLE, str(find_style(STYLE).path))
    window.tabs.setCurrentWidget(window.webcam_pane)
    return window.webcam_pane


@pytest.fixture
def folder(tmp_path) -> Path:
    """Clips and exports go here (tmp_path also holds the test's settings file)."""
    (tmp_path / "videos").mkdir()
    return tmp_path / "videos"


def left_in(folder: Path, clip: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != clip)


def test_export_button_writes_the_stylized_clip(qtbot, window, pane, tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "walk.mp4")
    bar = pane.export_bar
    pane.use_video(clip, start=False)
    assert bar.export_button.isEnabled() and bar.export_button.isVisible()
    target = tmp_path / "out" / "walk-wave.mp4"
    target.parent.mkdir()
    asked: list[str] = []

    def save_dialog(parent, title, start, filters):
        asked.append(start)
        return str(target), filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    with qtbot.waitSignal(bar.exported, timeout=60_000) as done:
        qtbot.mouseClick(bar.export_button, Qt.MouseButton.LeftButton)
        assert bar.progress.isVisible() and bar.cancel_button.isVisible()
    assert asked == [str(tmp_path / f"walk-{STYLE}.mp4")]  # <clip>-<style>.mp4 beside the clip
    assert done.args == [target]
    facts = read_video(target)
    assert facts.frames == CLIP_FRAMES and facts.fps == pytest.approx(CLIP_FPS, rel=0.01)
    assert facts.audio_codec == "aac"
    qtbot.waitUntil(lambda: window.notice.path() == target, timeout=5_000)
    assert target.name in window.notice.message.text()
    qtbot.waitUntil(lambda: bar.export_button.isVisible(), timeout=5_000)
    assert not bar.progress.isVisible()
    assert bar.default_target() == target.parent / f"walk-{STYLE}.mp4"  # remembers the folder


def hold_at_frame(window, frames: int = PAUSE_AT) -> None:
    """Pause the running export after ``frames`` frames, from its own thread (a direct
    connection), so Cancel or close finds it mid-way however fast this machine is."""
    worker = window.jobs.worker("export-video")

    def maybe_pause(done: int, total: int, message: str) -> None:
        if message.startswith(f"frame {frames} of "):
            worker.pause()

    worker.progress.connect(maybe_pause, Qt.ConnectionType.DirectConnection)


def test_cancel_midway_leaves_no_file(qtbot, window, pane, folder):
    clip = make_clip(folder / "long.mp4", frames=60)
    pane.use_video(clip, start=False)
    bar = pane.export_bar
    bar.export_to(folder / "out.mp4")
    hold_at_frame(window)
    qtbot.waitUntil(lambda: f"frame {PAUSE_AT} of" in bar.progress.format(), timeout=30_000)
    with qtbot.waitSignal(bar.exportCancelled, timeout=10_000):
        qtbot.mouseClick(bar.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not bar.is_running(), timeout=10_000)
    assert left_in(folder, clip) == []
    assert bar.export_button.isVisible() and not bar.progress.isVisible()


def test_closing_the_window_mid_export_leaves_no_file(qtbot, window, pane, folder):
    clip = make_clip(folder / "long.mp4", frames=60)
    pane.use_video(clip, start=False)
    pane.export_bar.export_to(folder / "out.mp4")
    hold_at_frame(window)
    qtbot.waitUntil(lambda: f"frame {PAUSE_AT} of" in pane.export_bar.progress.format(),
                    timeout=30_000)
    window.close()  # cancels every job and waits for its thread (the fixture checks threads)
    assert not window.jobs.is_running("export-video")
    assert left_in(folder, clip) == []


def test_bad_clip_shows_an_error_and_writes_nothing(qtbot, window, pane, folder):
    build, phrase = BAD_VIDEOS["garbled"]
    clip = build(folder)
    pane.use_video(clip, start=False)
    with qtbot.waitSignal(window.errors.errorShown, timeout=30_000) as shown:
        pane.export_bar.export_to(folder / "out.mp4")
    assert str(clip) in shown.args[0] and phrase in shown.args[0]
    qtbot.waitUntil(lambda: not pane.export_bar.is_running(), timeout=10_000)
    assert left_in(folder, clip) == []


def test_export_needs_a_video_file_and_a_style(window, pane, folder):
    bar = pane.export_bar
    bar.set_source(CaptureSource(index=0))
    assert not bar.export_button.isEnabled()
    pane.use_video(make_clip(folder / "clip.mp4", frames=2), start=False)
    assert bar.export_button.isEnabled()
    window.state.set_style("", "")
    assert not bar.export_button.isEnabled()
    assert "style" in bar.export_button.toolTip()
