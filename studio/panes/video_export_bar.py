"""The webcam pane's "Export stylized video…": the video file source stylized into a new file.

A button while idle, a progress bar with Cancel while the export runs. The export is a
background job (one at a time), so the live view keeps playing and the window stays
responsive; closing the window cancels it like every job, and a cancelled export leaves no file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QProgressBar, QPushButton, QWidget

from studio import icons
from studio.error_dialog import ErrorReporter
from studio.state import StudioState
from studio.workers.inference_worker import InferenceSettings
from studio.workers.job_worker import JobRunner, JobWorker
from studio.workers.video_jobs import export_video_job

if TYPE_CHECKING:
    from engine.runtime.capture import CaptureSource
    from engine.runtime.video import VideoExport

JOB_KIND = "export-video"
SAVE_FILTERS = "MP4 video (*.mp4);;QuickTime movie (*.mov);;Matroska video (*.mkv)"
DEFAULT_SUFFIX = ".mp4"


class VideoExportBar(QWidget):
    """Export button, then progress and Cancel, for the pane's current video file."""

    exported = Signal(Path)
    exportCancelled = Signal()
    fileWritten = Signal(str, Path)  # message naming the file, its path (for the status bar)

    def __init__(self, state: StudioState, jobs: JobRunner, errors: ErrorReporter,
                 settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state, self._jobs, self._errors, self._settings = state, jobs, errors, settings
        self._source: Path | None = None
        self.export_button = QPushButton(icons.standard("DialogSaveButton"),
                                         "Export stylized video…")
        self.export_button.clicked.connect(self.export_dialog)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.export_button, self.progress, self.cancel_button):
            layout.addWidget(widget)
        state.styleChanged.connect(self._update_enabled)
        self._show_running(False)

    def set_source(self, source: CaptureSource | None) -> None:
        """The pane's current source: only a video file can be exported."""
        self._source = Path(source.path) if source is not None and source.is_file else None
        self._update_enabled()

    def is_running(self) -> bool:
        return self._jobs.is_running(JOB_KIND)

    def default_target(self) -> Path | None:
        """``<clip>-<style>.mp4`` in the last export folder, else beside the clip."""
        if self._source is None:
            return None
        folder = self._settings.value("folders/video-export", "") or self._source.parent
        return Path(folder) / f"{self._source.stem}-{self._state.style}{DEFAULT_SUFFIX}"

    def export_dialog(self) -> None:
        target = self.default_target()
        if target is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export stylized video", str(target),
                                              SAVE_FILTERS)
        if path:  # the dialog asked before replacing a file; the export replaces it atomically
            chosen = Path(path)
            self.export_to(chosen if chosen.suffix else chosen.with_suffix(DEFAULT_SUFFIX))

    def export_to(self, target: Path) -> None:
        """Start exporting the current clip with the current style to ``target``."""
        if self._source is None or not self._state.style_path:
            return
        settings = InferenceSettings(self._state.style_path, self._state.strength,
                                     self._state.preserve_colors)
        worker = JobWorker(export_video_job(self._source, target, settings))
        # Methods, not lambdas: PySide runs a lambda in the emitting (worker) thread.
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_exported)
        worker.failed.connect(self._errors.show_error)
        worker.cancelled.connect(self.exportCancelled)
        worker.done.connect(self._on_done)
        self.progress.setRange(0, 0)  # busy until the first frame is done
        self.progress.setToolTip(f"Exporting to {target}")
        self._jobs.start(JOB_KIND, worker)
        self._show_running(True)

    def cancel(self) -> None:
        """Stop the export at the next frame; its partial file is removed."""
        self._jobs.cancel(JOB_KIND)
        self._show_running(False)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(message)  # "frame N of M": the bar shows the share

    def _on_exported(self, result: VideoExport) -> None:
        self._settings.setValue("folders/video-export", str(result.path.parent))
        self.fileWritten.emit(f"Exported {result.path.name} ({result.frames} frames)",
                              result.path)
        self.exported.emit(result.path)

    def _on_done(self) -> None:
        if self._jobs.worker(JOB_KIND) in (self.sender(), None):
            self._show_running(False)  # not when a newer export took over the bar

    def _show_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.export_button.setVisible(not running)
        self._update_enabled()

    def _update_enabled(self, *_args: object) -> None:
        ready = self._source is not None and bool(self._state.style_path)
        self.export_button.setEnabled(ready)
        self.export_button.setToolTip(
            "Stylize the whole video file into a new one, with its sound" if ready
            else "Choose a video file as the source and a style first")
