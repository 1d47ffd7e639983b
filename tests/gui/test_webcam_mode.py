"""Webcam mode on a real video file: live stylized frames, FPS readout, MP4 recording."""

from __future__ import annotations

import cv2

from engine.runtime.capture import CaptureSource, probe_cameras
from studio.main_window import IMAGE_TAB


def test_video_file_live_and_record(qtbot, window, user_style, shared_data, tmp_path):
    window.gallery.refresh(select="test-tiny")
    qtbot.waitUntil(lambda: window.state.style == "test-tiny", timeout=10_000)
    video = shared_data / "video" / "opencv-vtest.mp4"
    pane = window.webcam_pane
    window.tabs.setCurrentWidget(pane)
    pane.resolution.setCurrentText("320 x 240")
    pane.use_video(video)
    qtbot.waitUntil(lambda: pane.frames_shown >= 5, timeout=30_000)
    out = tmp_path / "clip.mp4"
    pane.start_recording(out)
    qtbot.waitUntil(lambda: pane.frames_shown >= 65, timeout=120_000)

    # Switching styles is applied on the next frame without restarting the source.
    window.state.set_style("", "")
    shown = pane.frames_shown
    qtbot.waitUntil(lambda: pane.frames_shown > shown + 2, timeout=30_000)
    assert pane._session.is_running()

    assert pane.stop_recording() == out
    pane.stop()
    qtbot.waitUntil(lambda: not pane._session.is_running(), timeout=5_000)
    assert pane.fps > 0
    assert "FPS" in pane.readout.text() or "Recorded" in pane.readout.text()

    cap = cv2.VideoCapture(str(out))
    sizes = []
    while (frame := cap.read())[0]:
        sizes.append(frame[1].shape)
    cap.release()
    assert len(sizes) > 10
    assert sizes[0][1] <= 320 and sizes[0][0] <= 240  # the resolution picker applied


def test_leaving_webcam_mode_stops_the_camera_and_coming_back_restarts_it(
        qtbot, window, user_style, shared_data):
    window.gallery.refresh(select="test-tiny")
    qtbot.waitUntil(lambda: window.state.style == "test-tiny", timeout=10_000)
    pane = window.webcam_pane
    window.tabs.setCurrentWidget(pane)
    pane.use_video(shared_data / "video" / "opencv-vtest.mp4")
    qtbot.waitUntil(lambda: pane.frames_shown >= 3, timeout=30_000)
    window.tabs.setCurrentIndex(IMAGE_TAB)
    qtbot.waitUntil(lambda: not window.session.is_running(), timeout=5_000)
    window.tabs.setCurrentWidget(pane)
    qtbot.waitUntil(lambda: window.session.is_running() and pane.frames_shown >= 3,
                    timeout=30_000)
    pane.stop()  # stopped by hand: leaving and coming back leaves it stopped
    qtbot.waitUntil(lambda: not window.session.is_running(), timeout=5_000)
    window.tabs.setCurrentIndex(IMAGE_TAB)
    window.tabs.setCurrentWidget(pane)
    qtbot.wait(300)
    assert not window.session.is_running()


def test_no_camera_panel_offers_video(qtbot, window):
    if probe_cameras():
        return  # this machine has a camera: the friendly panel is not shown
    pane = window.webcam_pane
    with qtbot.waitSignal(pane.camerasProbed, timeout=20_000):
        window.tabs.setCurrentWidget(pane)
    assert pane.stack.currentIndex() == 1
    assert pane.open_video_button.isVisible()


def test_missing_video_reports_error(qtbot, window, tmp_path):
    pane = window.webcam_pane
    with qtbot.waitSignal(window.errors.errorShown, timeout=10_000) as shown:
        pane.use_video(tmp_path / "missing.mp4")
    assert "missing.mp4" in shown.args[0]
    qtbot.waitUntil(lambda: not pane._session.is_running(), timeout=5_000)


def test_capture_source_keys_round_trip():
    for source in (CaptureSource(index=2), CaptureSource(path="/tmp/a b.mp4")):
        assert CaptureSource.from_key(source.key()) == source
    assert CaptureSource.from_key("nonsense") is None
