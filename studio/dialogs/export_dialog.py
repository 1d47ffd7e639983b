"""Export a style: ask where (unless told), run the export job, then name and reveal the result.

The progress dialog is non-modal; the window stays usable while coremltools works. The iPhone
message states the minimum iOS read from the written model, never a fixed claim.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from studio.error_dialog import ErrorReporter
from studio.panes.gallery_pane import reveal
from studio.workers.export_worker import ios_bundle_job, onnx_copy_job
from studio.workers.job_worker import Job, JobRunner, JobWorker

if TYPE_CHECKING:
    from engine.styles import Style


class ExportController(QObject):
    """One export at a time (a new one cancels the old); reveals what it wrote."""

    exported = Signal(Path)
    fileWritten = Signal(str, Path)  # message naming the export, its path (for the status bar)

    def __init__(self, parent: QWidget, jobs: JobRunner, errors: ErrorReporter,
                 settings: QSettings, reveal_results: bool = True) -> None:
        super().__init__(parent)
        self._parent, self._jobs, self._errors = parent, jobs, errors
        self._settings = settings
        self._reveal = reveal_results
        self._progress: QProgressDialog | None = None
        self._worker: JobWorker | None = None  # the export whose signals count; None: cancelled
        self._describe: Callable[[Path], str] = str  # the finished message for the current export

    def ask_and_export(self, style: Style, kind: str) -> None:
        """Menu/button entry point: pick a target with a file dialog, then export."""
        start = str(self._settings.value("folders/export", str(Path.home())))
        if kind == "ios":
            folder = QFileDialog.getExistingDirectory(self._parent, "Export to iPhone: choose a "
                                                      "folder for the Core ML bundle", start)
            if folder:
                self.export_ios(style, Path(folder))
        else:
            path, _ = QFileDialog.getSaveFileName(self._parent, "Export ONNX model",
                                                  str(Path(start) / f"{style.name}.onnx"),
                                                  "ONNX model (*.onnx)")
            if path:
                self.export_onnx(style, Path(path))

    def export_ios(self, style: Style, out_dir: Path) -> None:
        self._run(ios_bundle_job(Path(style.path), out_dir), out_dir,
                  f"Exporting “{style.title or style.name}” for iPhone…", _describe_ios)

    def export_onnx(self, style: Style, target: Path) -> None:
        self._run(onnx_copy_job(Path(style.path), target), target.parent,
                  f"Exporting “{style.title or style.name}” as ONNX…",
                  lambda path: f"Exported {path.name}")

    def _run(self, job: Job, folder: Path, label: str, describe: Callable[[Path], str]) -> None:
        self._settings.setValue("folders/export", str(folder))
        self._describe = describe
        worker = JobWorker(job)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._errors.show_error)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        self._show_progress(label)
        self._worker = self._jobs.start("export", worker)

    def _show_progress(self, label: str) -> None:
        self._close_progress()
        dialog = QProgressDialog(label, "Cancel", 0, 0, self._parent)
        dialog.setWindowTitle("Export")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(self.cancel)
        self._progress = dialog

    def cancel(self) -> None:
        """Stop the running export; it ends at its next step and writes nothing."""
        self._worker = None
        self._jobs.cancel("export")
        self._close_progress()

    def _from_current_export(self) -> bool:
        """Signals of a cancelled (replaced) export must not touch the current one's dialog."""
        return self._worker is not None and self.sender() is self._worker

    def _on_progress(self, done: int, total: int, what: str) -> None:
        if self._progress is not None and self._from_current_export():
            self._progress.setRange(0, total)
            self._progress.setValue(done)

    def _on_done(self) -> None:
        if self._from_current_export():
            self._close_progress()

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.reset()
            self._progress.deleteLater()
            self._progress = None

    def _on_finished(self, path: Path) -> None:
        if not self._from_current_export():
            return  # cancelled after its last check (e.g. an instant ONNX copy)
        if self._reveal:
            reveal(path)
        self.exported.emit(path)
        self.fileWritten.emit(self._describe(path), path)


def _describe_ios(folder: Path) -> str:
    """"Exported StarryNight-iOS for iPhone (iOS 14 or later)", read from the bundle's model."""
    from engine.export.coreml.ios_version import model_minimum_ios

    return f"Exported {folder.name} for iPhone (iOS {model_minimum_ios(folder)} or later)"
