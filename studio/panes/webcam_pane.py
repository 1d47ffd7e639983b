"""Webcam mode: pick a camera or video file, watch it stylized live, snapshot and record;
export a video file stylized whole (``VideoExportBar``).

The pane only shows what the LiveSession delivers and forwards the user's choices to it.
Cameras are probed by a background job: with no camera the pane shows what to try instead.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.errors import StudioError
from engine.runtime.capture import RESOLUTIONS, VIDEO_SUFFIXES, CaptureSource, probe_cameras
from engine.runtime.live import LIVE_WORKING_SIDE
from studio import icons
from studio.error_dialog import ErrorReporter
from studio.panes.compare_view import CompareView, ViewMode
from studio.panes.video_export_bar import VideoExportBar
from studio.state import StudioState
from studio.workers.image_jobs import LoadedImage, save_job, unique_path
from studio.workers.inference_worker import InferenceResult, InferenceSettings
from studio.workers.job_worker import JobRunner, JobWorker
from studio.workers.live_session import LiveSession

FPS_SMOOTHING = 0.1  # exponential moving average weight of the newest frame interval
VIEW_MODES = {"Split": ViewMode.SPLIT, "Side by side": ViewMode.SIDE_BY_SIDE,
              "Stylized only": ViewMode.RESULT}
NO_CAMERA_TEXT = (
    "<h2>No camera found</h2>"
    "<p>TinyStyle looked for cameras and found none it could open. Things to try:</p>"
    "<ul><li>Plug in a webcam, then press <b>Search again</b>.</li>"
    "<li>Close other apps that may be using the camera (video calls, browsers).</li>"
    "<li>Check the system's camera privacy settings allow this app.</li></ul>"
    "<p>You can also stylize any <b>video file</b> as if it were a live camera.</p>"
)


class WebcamPane(QWidget):
    """Live preview with an FPS / latency / dropped-frames readout."""

    frameShown = Signal(float)  # current FPS
    camerasProbed = Signal(int)
    recordingSaved = Signal(Path)
    snapshotSaved = Signal(Path)
    fileWritten = Signal(str, Path)  # message naming the file, its path (for the status bar)

    def __init__(self, state: StudioState, session: LiveSession, jobs: JobRunner,
                 errors: ErrorReporter, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("webcamPane")
        self._state, self._session, self._jobs = state, session, jobs
        self._errors, self._settings = errors, settings
        self._last: InferenceResult | None = None
        self._fps = 0.0
        self._last_time = 0.0
        self.frames_shown = 0
        self.view = CompareView("Choose a camera or a video file, then press Start")
        self._build()
        session.frameReady.connect(self._on_frame)
        session.opened.connect(self._on_opened)
        session.failed.connect(self._on_failed)
        session.stopped.connect(self._on_stopped)
        for signal in (state.styleChanged, state.strengthChanged, state.preserveColorsChanged):
            signal.connect(self._push_settings)
        self._push_settings()
        self._update_enabled()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.source = QComboBox()
        self.source.setMinimumWidth(200)
        self.source.setToolTip("Camera or video file")
        self.source.activated.connect(self._on_source_activated)
        self.source.currentIndexChanged.connect(self._on_source_changed)
        self.resolution = QComboBox()
        self.resolution.addItems(list(RESOLUTIONS))
        self.resolution.setCurrentText("640 x 480")
        self.resolution.activated.connect(self._restart_if_running)
        self.mirror = QCheckBox("Mirror")
        self.mirror.toggled.connect(self._session.set_mirror)
        self.view_mode = QComboBox()
        self.view_mode.addItems(list(VIEW_MODES))
        self.view_mode.currentTextChanged.connect(lambda t: self.view.set_mode(VIEW_MODES[t]))
        self.start_button = QPushButton(icons.standard("MediaPlay"), "Start")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(self.toggle)
        self.snapshot_button = QPushButton(icons.standard("DialogSaveButton"), "Snapshot")
        self.snapshot_button.clicked.connect(self.snapshot)
        self.record_button = QPushButton(icons.standard("DialogNoButton"), "Record")
        self.record_button.setCheckable(True)
        self.record_button.toggled.connect(self._on_record_toggled)
        self.export_bar = VideoExportBar(self._state, self._jobs, self._errors, self._settings)
        self.export_bar.fileWritten.connect(self.fileWritten)
        self.readout = QLabel("—")
        self.readout.setObjectName("readout")
        # Ignored: a long readout (a file name, the export bar's progress beside it) is cut
        # at the window's edge instead of widening the window.
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.setSpacing(6)
        for widget in (QLabel("Source"), self.source, self.resolution, self.mirror,
                       self.view_mode):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.start_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.readout, 1)
        bottom.addWidget(self.export_bar)
        bottom.addWidget(self.snapshot_button)
        bottom.addWidget(self.record_button)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self._no_camera_panel())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bottom)
        self.source.addItem("Searching for cameras…", None)

    def _no_camera_panel(self) -> QScrollArea:
        """The advice and buttons, scrolling in a short window instead of being cut off."""
        panel = QWidget()
        panel.setObjectName("noCameraPanel")
        text = QLabel(NO_CAMERA_TEXT)
        text.setWordWrap(True)
        text.setFixedWidth(520)  # a known width gives the wrapped text its full height
        self.open_video_button = QPushButton(icons.standard("DirOpenIcon"), "Open a video file…")
        self.open_video_button.setObjectName("primary")
        self.open_video_button.clicked.connect(self.choose_video)
        again = QPushButton(icons.standard("BrowserReload"), "Search again")
        again.clicked.connect(self.probe)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_video_button)
        buttons.addWidget(again)
        buttons.addStretch(1)
        layout = QVBoxLayout(panel)
        layout.addStretch(1)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(buttons)
        layout.addStretch(2)
        scroll = QScrollArea()
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    def _update_enabled(self) -> None:
        running = self._session.is_running()
        self.start_button.setText("Stop" if running else "Start")
        self.start_button.setIcon(icons.standard("MediaStop" if running else "MediaPlay"))
        self.start_button.setEnabled(self.current_source() is not None or running)
        self.snapshot_button.setEnabled(self._last is not None)
        self.record_button.setEnabled(running or self.record_button.isChecked())

    # -- sources -----------------------------------------------------------------------------
    def probe(self) -> None:
        """Look for cameras off the UI thread (opening a missing camera can take seconds)."""
        worker = JobWorker(lambda ctx: probe_cameras())
        worker.finished.connect(self._on_cameras_probed)
        worker.failed.connect(self._errors.show_error)
        self._jobs.start("probe-cameras", worker)

    def _on_cameras_probed(self, cameras: list[CaptureSource]) -> None:
        files = [self.source.itemData(i) for i in range(self.source.count())
                 if isinstance(self.source.itemData(i), CaptureSource)
                 and self.source.itemData(i).is_file]
        self.source.clear()
        for src in [*cameras, *files]:
            self.source.addItem(src.label, src)
        self.source.addItem("Video file…", None)
        saved = CaptureSource.from_key(str(self._settings.value("webcam/source", "")))
        if saved is not None and saved.is_file and saved not in files:
            self.source.insertItem(self.source.count() - 1, saved.label, saved)
        self._select(saved if saved is not None else (cameras[0] if cameras else None))
        # The panel is for "nothing to show": never over a remembered video file or a live source.
        has_source = self.current_source() is not None or self._session.is_running()
        self.stack.setCurrentIndex(0 if has_source else 1)
        self._update_enabled()
        self.camerasProbed.emit(len(cameras))

    def _select(self, source: CaptureSource | None) -> None:
        index = self.source.findData(source) if source is not None else -1
        self.source.setCurrentIndex(max(0, index) if index >= 0 else 0)

    def current_source(self) -> CaptureSource | None:
        data = self.source.currentData()
        return data if isinstance(data, CaptureSource) else None

    def choose_video(self) -> None:
        start = str(self._settings.value("folders/video", str(Path.home())))
        patterns = " ".join(f"*{s}" for s in VIDEO_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", start,
                                              f"Videos ({patterns});;All files (*)")
        if path:
            self.use_video(Path(path))

    def use_video(self, path: Path, start: bool = True) -> None:
        """Add ``path`` as a source, select it and (by default) start it."""
        self._settings.setValue("folders/video", str(path.parent))
        source = CaptureSource(path=str(path))
        if self.source.findData(source) < 0:
            self.source.insertItem(max(0, self.source.count() - 1), source.label, source)
        self._select(source)
        self.stack.setCurrentIndex(0)
        if start:
            self.start()
        self._update_enabled()

    def _on_source_changed(self, _index: int) -> None:
        self.export_bar.set_source(self.current_source())

    def _on_source_activated(self, index: int) -> None:
        if self.source.itemData(index) is None and self.source.itemText(index) == "Video file…":
            self.choose_video()
        else:
            self._restart_if_running()

    # -- running -----------------------------------------------------------------------------
    def toggle(self) -> None:
        if self._session.is_running():
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        source = self.current_source()
        if source is None:
            return
        self._settings.setValue("webcam/source", source.key())
        self._fps, self._last_time, self.frames_shown = 0.0, 0.0, 0
        self.stack.setCurrentIndex(0)
        self._push_settings()
        self._session.start(source, RESOLUTIONS[self.resolution.currentText()],
                            self.mirror.isChecked())
        self.readout.setText(f"Opening {source.label}…")
        self._update_enabled()

    def stop(self) -> None:
        self.record_button.setChecked(False)
        self._session.stop()
        self._update_enabled()

    def _restart_if_running(self, *_args: object) -> None:
        if self._session.is_running():
            self.start()
        self._update_enabled()

    def _push_settings(self, *_args: object) -> None:
        self._session.set_settings(InferenceSettings(
            self._state.style_path, self._state.strength, self._state.preserve_colors,
            LIVE_WORKING_SIDE))

    def _on_opened(self, label: str, width: int, height: int, fps: float) -> None:
        self.readout.setText(f"{label}: {width} × {height}")

    def _on_failed(self, error: StudioError) -> None:
        self._errors.show_error(error)
        self._update_enabled()

    def _on_stopped(self) -> None:
        if self.record_button.isChecked():
            self.record_button.setChecked(False)
        self._update_enabled()

    def _on_frame(self, result: InferenceResult) -> None:
        now = time.perf_counter()
        if self._last_time:
            fps = 1.0 / max(1e-6, now - self._last_time)
            self._fps = fps if not self._fps else self._fps + FPS_SMOOTHING * (fps - self._fps)
        self._last_time = now
        self._last = result
        self.frames_shown += 1
        self.view.set_images(result.source_image, result.image)
        dropped = self._session.inference.dropped
        rec = "  ·  ● REC" if self._session.recorder.recording else ""
        self.readout.setText(f"{self._fps:.1f} FPS  ·  {result.latency_ms:.0f} ms latency  ·  "
                             f"{dropped} dropped{rec}")
        if self.frames_shown == 1:
            self._update_enabled()
        self.frameShown.emit(self._fps)

    @property
    def fps(self) -> float:
        return self._fps

    # -- output ------------------------------------------------------------------------------
    def _output_folder(self) -> Path:
        saved = self._settings.value("folders/snapshots", "")
        pictures = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.PicturesLocation)
        return Path(saved or pictures or Path.home())

    def snapshot(self, folder: Path | None = None) -> None:
        """Save the frame on screen (already stylized) as PNG under a new name."""
        if self._last is None:
            return
        target = (folder or self._output_folder()) / time.strftime("tinystyle-%Y%m%d-%H%M%S.png")
        image = LoadedImage(self._last.output, None, None)
        worker = JobWorker(save_job(image, InferenceSettings(), target))
        worker.finished.connect(self._on_snapshot_saved)  # a method: runs on the UI thread
        worker.failed.connect(self._errors.show_error)
        self._jobs.start("snapshot", worker)

    def _on_snapshot_saved(self, path: Path) -> None:
        self.fileWritten.emit(f"Snapshot saved: {path.name}", path)  # the notice first
        self.snapshotSaved.emit(path)

    def start_recording(self, path: Path) -> None:
        self._session.recorder.start(path, self._session.source_fps or self._fps)

    def stop_recording(self) -> Path | None:
        """Close the MP4; returns its path (None when no frame was written)."""
        path, seconds = self._session.recorder.stop()
        if path is not None:
            self.recordingSaved.emit(path)
            self.fileWritten.emit(f"Recording saved: {path.name} ({seconds:.0f} s)", path)
        return path

    def _on_record_toggled(self, on: bool) -> None:
        if on and not self._session.recorder.recording:
            name = time.strftime("tinystyle-%Y%m%d-%H%M%S.mp4")
            self.start_recording(unique_path(self._output_folder() / name))
        elif not on:
            self.stop_recording()
        self._update_enabled()

    def shutdown(self) -> None:
        """Close any recording and stop the live threads (window close)."""
        self.stop_recording()
        self._session.shutdown()
