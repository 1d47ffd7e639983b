"""Image mode: open, drop or paste photos; live before/after; save; batch folders.

Everything slow (decoding, the network, encoding) runs in workers: live previews go through
the shared inference worker (latest request wins), opening/saving/batches through jobs. Preview
and save run the network at the same working size (the stroke size's), so they look alike.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import StudioError
from studio import icons
from studio.drops import local_paths
from studio.error_dialog import ErrorReporter
from studio.panes.compare_view import CompareView
from studio.panes.style_controls import StrokeSizeControl
from studio.qimage import from_qimage, to_qimage
from studio.state import StudioState
from studio.workers.image_jobs import (
    BatchItemDone,
    LoadedImage,
    batch_job,
    load_job,
    output_name,
    save_job,
    unique_path,
)
from studio.workers.inference_worker import (
    Frame,
    InferenceResult,
    InferenceSettings,
    InferenceWorker,
)
from studio.workers.job_worker import JobRunner, JobWorker

DEBOUNCE_MS = 120  # slider drags coalesce into one request per pause
# Save As file types: the first suffix is the one a name gets when the user picks that type.
SAVE_TYPES = {"PNG image (*.png)": (".png",), "JPEG image (*.jpg *.jpeg)": (".jpg", ".jpeg"),
              "WebP image (*.webp)": (".webp",)}
PLACEHOLDER = "Drop photos or a folder here\n\nor use Open (Ctrl+O) or Paste (Ctrl+V)"


def save_type_for(suffix: str) -> str:
    """The Save As file type that writes ``suffix`` (PNG when none does)."""
    return next((name for name, suffixes in SAVE_TYPES.items() if suffix.lower() in suffixes),
                next(iter(SAVE_TYPES)))


def with_type_suffix(path: Path, save_type: str) -> Path:
    """The chosen type wins over the typed name: ``photo.png`` saved as JPEG is ``photo.jpg``.

    A suffix that is no image type (``photo.v2``) is part of the name and is kept.
    """
    suffixes = SAVE_TYPES.get(save_type)
    if not suffixes or path.suffix.lower() in suffixes:
        return path
    known = {s for group in SAVE_TYPES.values() for s in group}
    if path.suffix.lower() in known:
        return path.with_suffix(suffixes[0])
    return path.with_name(path.name + suffixes[0])


class ImagePane(QWidget):
    """One photo at a time with a before/after view; many photos become a batch."""

    imageShown = Signal()  # a stylized result is on screen
    saved = Signal(Path)
    batchFinished = Signal(list)  # written paths
    fileWritten = Signal(str, Path)  # message naming the file, its path (for the status bar)

    def __init__(self, state: StudioState, inference: InferenceWorker, jobs: JobRunner,
                 errors: ErrorReporter, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imagePane")
        self.setAcceptDrops(True)
        self._state, self._inference, self._jobs = state, inference, jobs
        self._errors, self._settings = errors, settings
        self._image: LoadedImage | None = None
        self._ids = itertools.count(1)
        self._image_id = 0
        self._batch_failures: list[StudioError] = []
        self._job_kind = ""  # the job the progress bar and Cancel button belong to
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._submit)
        self.view = CompareView(PLACEHOLDER)
        self._build()
        inference.resultReady.connect(self._on_inference_result)
        inference.failed.connect(errors.show_error)
        for signal in (state.styleChanged, state.strengthChanged, state.preserveColorsChanged,
                       state.strokeSizeChanged):
            signal.connect(self._schedule)
        self._update_enabled()

    def _build(self) -> None:
        self.open_button = self._tool("DirOpenIcon", "Open…", self.open_dialog)
        self.paste_button = self._tool("FileDialogDetailedView", "Paste", self.paste)
        self.save_button = self._tool("DialogSaveButton", "Save", self.save)
        self.save_as_button = self._tool("DialogSaveButton", "Save As…", self.save_as_dialog)
        self.fit_button = self._tool("TitleBarMaxButton", "Fit", self.view.zoom_fit)
        self.actual_button = self._tool("TitleBarNormalButton", "100%", self.view.zoom_actual)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        for button in (self.open_button, self.paste_button, self.save_button, self.save_as_button):
            bar.addWidget(button)
        bar.addStretch(1)
        self.stroke_size = StrokeSizeControl(self._state, self._settings)
        bar.addWidget(self.stroke_size)
        bar.addSpacing(12)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.status = QLabel("")
        self.status.setObjectName("statusText")
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(8)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self._show_batch_controls(False)

    def _tool(self, icon: str, text: str, slot: Any) -> QToolButton:
        button = QToolButton()
        button.setIcon(icons.standard(icon))
        button.setText(text)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.clicked.connect(slot)
        return button

    def _update_enabled(self) -> None:
        has = self._image is not None
        for button in (self.save_button, self.save_as_button, self.fit_button, self.actual_button):
            button.setEnabled(has)

    def _show_batch_controls(self, visible: bool) -> None:
        self.progress.setVisible(visible)
        self.cancel_button.setVisible(visible)

    def _start_job(self, kind: str, worker: JobWorker) -> None:
        """Run a save or batch with the progress bar and Cancel button bound to it."""
        # Methods, not lambdas: PySide runs a lambda in the emitting (worker) thread, and
        # widgets may only be touched from the UI thread.
        worker.done.connect(self._on_job_done)
        self._job_kind = kind
        self._show_batch_controls(True)
        self._jobs.start(kind, worker)

    def _on_job_done(self) -> None:
        if self._jobs.worker(self._job_kind) in (self.sender(), None):
            self._show_batch_controls(False)  # not when a newer job took over the controls

    # -- opening -----------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(self._settings.value("folders/open", str(Path.home())))
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos", start,
                                                "Images (*.jpg *.jpeg *.png *.webp *.bmp *.tif"
                                                " *.tiff *.gif);;All files (*)")
        if files:
            self.open_paths([Path(f) for f in files])

    def open_paths(self, paths: list[Path]) -> None:
        """One file opens in the viewer; several files or a folder start a batch."""
        from engine.io.images import find_images

        if not paths:
            return
        self._settings.setValue("folders/open", str(paths[0].parent))
        files = find_images(paths)
        if not files:
            self._errors.show_error(StudioError(f"{paths[0]}: no images found here",
                                                hint="drop JPEG, PNG or WebP files"))
        elif len(files) == 1 and not paths[0].is_dir():
            worker = JobWorker(load_job(files[0]))
            worker.finished.connect(self.show_image)
            worker.failed.connect(self._errors.show_error)
            self._jobs.start("load", worker)
        else:
            self.start_batch(files)

    def paste(self) -> None:
        mime = QApplication.clipboard().mimeData()
        if mime is not None and mime.hasUrls():
            self.open_paths(local_paths(mime.urls()))
        elif mime is not None and mime.hasImage():
            image = QApplication.clipboard().image()
            self.show_image(LoadedImage(from_qimage(image), None, None))
        else:
            self._errors.show_error(StudioError("the clipboard holds no image",
                                                hint="copy an image or image files first"))

    def show_image(self, image: LoadedImage) -> None:
        self._image = image
        self._image_id = next(self._ids)
        self.view.zoom_fit()
        self._update_enabled()
        self._submit()

    def current_image(self) -> LoadedImage | None:
        return self._image

    # -- live preview ------------------------------------------------------------------------
    def _schedule(self, *_args: object) -> None:
        if self._image is not None:
            self._debounce.start()

    def _settings_now(self) -> InferenceSettings:
        """Preview and save alike: the stroke size fixes the network's working size, so the
        full-size save is the preview's image (it is computed at the photo's full size too)."""
        return InferenceSettings(self._state.style_path, self._state.strength,
                                 self._state.preserve_colors,
                                 stroke_size=self._state.stroke_size)

    def _submit(self) -> None:
        if self._image is None:
            return
        self._inference.set_settings(self._settings_now())
        self._inference.submit(Frame(self._image.rgb, tag=self._image_id))

    def _on_inference_result(self, result: InferenceResult) -> None:
        if result.frame.tag != self._image_id or self._image is None:
            return  # a result for a photo that is no longer shown
        self.view.set_images(result.source_image, result.image)
        name = self._image.path.name if self._image.path else "Pasted image"
        h, w = self._image.rgb.shape[:2]
        self.status.setText(f"{name}  ·  {w} × {h}  ·  {result.latency_ms:.0f} ms")
        self.imageShown.emit()

    # -- saving ------------------------------------------------------------------------------
    def default_target(self, suffix: str | None = None) -> Path:
        source = self._image.path if self._image else None
        folder = self._settings.value("folders/save", "")
        folder = Path(folder) if folder else (source.parent if source else Path.home())
        return folder / output_name(source, self._state.style, suffix)

    def save(self) -> None:
        """Save beside the last save folder under a free name (never overwrites)."""
        self.save_to(self.default_target(), overwrite=False)

    def save_as_dialog(self) -> QFileDialog | None:
        """Open (not exec) a Save As dialog proposing a free name; returns it (tests drive it)."""
        if self._image is None:
            return None
        target = unique_path(self.default_target())
        dialog = QFileDialog(self, "Save stylized image", str(target.parent))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(list(SAVE_TYPES))
        dialog.selectNameFilter(save_type_for(target.suffix))
        dialog.selectFile(str(target))
        dialog.filterSelected.connect(lambda kind: self._on_save_type_chosen(dialog, kind))
        dialog.fileSelected.connect(
            lambda path: self._on_save_as_chosen(Path(path), dialog.selectedNameFilter()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _on_save_type_chosen(self, dialog: QFileDialog, save_type: str) -> None:
        """Picking another type renames the proposal (to a free name) to match it."""
        typed = dialog.selectedFiles()
        if typed:
            dialog.selectFile(str(unique_path(with_type_suffix(Path(typed[0]), save_type))))

    def _on_save_as_chosen(self, path: Path, save_type: str) -> None:
        target = with_type_suffix(path, save_type)
        # The dialog asked before replacing ``path``; a renamed target never replaces a file.
        self.save_to(target, overwrite=target == path)

    def save_to(self, target: Path, overwrite: bool = False) -> None:
        """Stylize at full size and write; the busy bar's Cancel stops it (nothing written)."""
        if self._image is None:
            return
        worker = JobWorker(save_job(self._image, self._settings_now(), target, overwrite))
        worker.finished.connect(self._on_saved)
        worker.failed.connect(self._on_save_failed)
        worker.cancelled.connect(self._on_save_cancelled)
        worker.progress.connect(self._on_save_progress)
        self.status.setText(f"Saving {target.name} at full size…")
        self.progress.setRange(0, 0)  # busy until a tiled (large) photo reports its tiles
        self._start_job("save", worker)

    def _on_save_cancelled(self) -> None:
        self.status.setText("Save cancelled")

    def _on_save_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat("%p%")

    def _on_saved(self, path: Path) -> None:
        self._settings.setValue("folders/save", str(path.parent))
        self.status.setText(f"Saved {path.name}")
        self.saved.emit(path)
        self.fileWritten.emit(f"Saved {path.name}", path)

    def _on_save_failed(self, error: StudioError) -> None:
        self.status.setText("Save failed")
        self._errors.show_error(error)

    # -- batch -------------------------------------------------------------------------------
    def start_batch(self, files: list[Path]) -> None:
        style = self._state.style or "original"
        out_dir = files[0].parent / f"stylized-{style}"
        worker = JobWorker(batch_job(files, self._settings_now(), out_dir, style))
        worker.progress.connect(self._on_batch_progress)
        worker.partial.connect(self._on_batch_item)
        worker.itemFailed.connect(self._on_batch_item_failed)
        worker.finished.connect(self._on_batch_finished)
        worker.failed.connect(self._errors.show_error)
        worker.cancelled.connect(self._on_batch_cancelled)
        self._batch_failures = []
        self.progress.setRange(0, len(files))
        self.progress.setValue(0)
        self.status.setText(f"Stylizing {len(files)} images into {out_dir}…")
        self._start_job("batch", worker)

    def cancel_job(self) -> None:
        """Cancel the running save or batch; it stops before writing anything more."""
        self._jobs.cancel(self._job_kind)
        self._show_batch_controls(False)

    def _on_batch_progress(self, done: int, total: int, name: str) -> None:
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")

    def _on_batch_item(self, item: BatchItemDone) -> None:
        """Show each finished photo as it comes (already stylized: no new request)."""
        self._image = LoadedImage(item.rgb, None, item.source)
        self._image_id = next(self._ids)
        self.view.set_images(to_qimage(item.rgb), to_qimage(item.output))
        self._update_enabled()

    def _on_batch_item_failed(self, error: StudioError) -> None:
        self._batch_failures.append(error)

    def _on_batch_cancelled(self) -> None:
        self.status.setText("Batch cancelled")

    def _on_batch_finished(self, written: list[Path]) -> None:
        where = written[0].parent if written else ""
        self.status.setText(f"Saved {len(written)} images to {where}")
        if written:
            self.fileWritten.emit(f"Saved {len(written)} images to {where.name}", written[0])
        if self._batch_failures:
            names = ", ".join(e.message.split(":")[0] for e in self._batch_failures[:5])
            self._errors.show_error(
                StudioError(f"{len(self._batch_failures)} file(s) skipped: {names}",
                            hint="they are not images this app can read"),
                details="\n".join(e.message for e in self._batch_failures))
        self.batchFinished.emit(written)

    # -- drops -------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.open_paths(local_paths(event.mimeData().urls()))
        event.acceptProposedAction()
