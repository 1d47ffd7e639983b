"""Style gallery: painting thumbnails with titles, search, a details card with export buttons.

Right-click renames or deletes a user style or reveals its file; dropping an ``.onnx`` imports
it. "Instant style from a painting…" (or dropping a painting) makes and installs a style from
a painting in seconds (issue #16). Listing, importing and instant styles run as jobs; this pane
only shows their progress and results.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.deps import INSTANT_MISSING, TRAINING_MISSING, instant_included, training_included
from engine.errors import StudioError
from studio import icons
from studio.drops import MODEL_SUFFIXES, local_paths
from studio.error_dialog import ErrorReporter
from studio.workers.instant_jobs import instant_style_job
from studio.workers.job_worker import JobRunner, JobWorker
from studio.workers.style_jobs import StyleEntry, import_style_job, list_styles_job

if TYPE_CHECKING:
    from engine.styles import Style

ICON_PX = 56
STYLE_ROLE = Qt.ItemDataRole.UserRole
INSTANT_JOB = "instant-style"
PAINTING_FILTER = "Images (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff);;All files (*)"


class GalleryPane(QWidget):
    """Lists styles; emits the chosen one and export requests."""

    styleSelected = Signal(object)  # engine.styles.Style
    stylesLoaded = Signal(int)  # how many styles are listed
    exportRequested = Signal(object, str)  # Style, "ios" or "onnx"
    instantBusyChanged = Signal(bool)  # an instant style is being made (or cancelled)

    def __init__(self, jobs: JobRunner, errors: ErrorReporter,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("galleryPane")
        self._jobs, self._errors = jobs, errors
        self._wanted = ""  # style to select once the list arrives
        self._paintings: list[Path] = []  # dropped paintings waiting for the instant job
        self._instant_worker: JobWorker | None = None  # until its job has ended
        self.setAcceptDrops(True)
        self.search = QLineEdit(placeholderText="Search styles")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_changed)
        self.list = QListWidget()
        self.list.setObjectName("styleList")
        self.list.setIconSize(QSize(ICON_PX, ICON_PX))
        self.list.setSpacing(2)
        # Long titles are elided with "…" (full text in the tooltip), never scrolled sideways.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_list_menu)
        self.list.currentItemChanged.connect(self._on_list_current)
        self.list.setAcceptDrops(False)  # drops go to the pane (import), not to the list
        self._build_layout()

    def _build_layout(self) -> None:
        title = QLabel("Styles")
        title.setObjectName("paneTitle")
        self.details = QLabel()
        self.details.setObjectName("styleDetails")
        self.details.setWordWrap(True)
        self.ios_button = QPushButton(icons.standard("ArrowDown"), "Export to iPhone")
        self.onnx_button = QPushButton("Export ONNX")
        if not training_included():
            self.ios_button.setToolTip(f"Not in this build: {TRAINING_MISSING}")
        self.ios_button.clicked.connect(lambda: self.request_export("ios"))
        self.onnx_button.clicked.connect(lambda: self.request_export("onnx"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.ios_button)
        buttons.addWidget(self.onnx_button)
        self.instant_button = QPushButton(icons.standard("FileDialogNewFolder"),
                                          "Instant style from a painting…")
        self.instant_button.setObjectName("instantButton")
        self.instant_button.setToolTip("Make a style from any painting in seconds, no training")
        self.instant_button.clicked.connect(self.choose_painting)
        self._build_instant_busy()
        self._update_instant_controls()
        hint = QLabel("Drop an .onnx style to import it, or a painting to make an instant style")
        hint.setObjectName("hint")
        hint.setWordWrap(True)  # wraps rather than widening the pane's minimum
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        for widget in (title, self.search, self.list, self.details):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addWidget(self.instant_button)
        layout.addWidget(self.instant_busy)
        layout.addWidget(hint)
        self._update_details()

    def _build_instant_busy(self) -> None:
        """A busy bar, the current step and Cancel, shown only while an instant style is made."""
        self.instant_busy = QWidget()
        self.instant_bar = QProgressBar()
        self.instant_bar.setRange(0, 0)  # busy: the export has no steps of its own to count
        self.instant_bar.setTextVisible(False)
        self.instant_bar.setMaximumHeight(6)
        self.instant_label = QLabel()
        self.instant_label.setObjectName("hint")
        self.instant_label.setWordWrap(True)
        self.instant_cancel = QPushButton("Cancel")
        self.instant_cancel.clicked.connect(self.cancel_instant)
        row = QHBoxLayout()
        row.addWidget(self.instant_label, 1)
        row.addWidget(self.instant_cancel)
        box = QVBoxLayout(self.instant_busy)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.instant_bar)
        box.addLayout(row)
        self.instant_busy.setVisible(False)

    # -- listing -----------------------------------------------------------------------------
    def refresh(self, select: str = "") -> None:
        """Reload the list off the UI thread; then select ``select`` (or keep the current)."""
        self._wanted = select or self._wanted or (self.current_style().name
                                                 if self.current_style() else "")
        worker = JobWorker(list_styles_job)
        worker.finished.connect(self._on_styles_listed)
        worker.failed.connect(self._errors.show_error)
        self._jobs.start("styles", worker)

    def _on_styles_listed(self, entries: list[StyleEntry]) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for entry in entries:
            self.list.addItem(self._make_item(entry))
        self.list.blockSignals(False)
        self._on_search_changed(self.search.text())
        names = [e.style.name for e in entries]
        row = names.index(self._wanted) if self._wanted in names else (0 if names else -1)
        self._wanted = ""
        self.list.setCurrentRow(row)
        if row < 0:
            self._update_details()
        self.stylesLoaded.emit(len(entries))

    def _make_item(self, entry: StyleEntry) -> QListWidgetItem:
        style = entry.style
        pix = (icons.rounded_thumbnail(entry.thumbnail, ICON_PX * 2) if not entry.thumbnail.isNull()
               else icons.palette_icon(ICON_PX * 2))
        byline = ", ".join(x for x in (style.artist, str(style.year or "")) if x)
        item = QListWidgetItem(QIcon(pix), f"{style.title or style.name}\n{byline or 'Your style'}")
        item.setData(STYLE_ROLE, style)
        origin = "bundled" if style.bundled else "your style"
        item.setToolTip(f"{style.title or style.name}\n{byline}\n{style.name} ({origin})")
        return item

    def styles(self) -> list[Style]:
        return [self.list.item(i).data(STYLE_ROLE) for i in range(self.list.count())]

    def current_style(self) -> Style | None:
        item = self.list.currentItem()
        return item.data(STYLE_ROLE) if item is not None else None

    def select(self, name: str) -> bool:
        for i in range(self.list.count()):
            if self.list.item(i).data(STYLE_ROLE).name == name:
                self.list.setCurrentRow(i)
                return True
        return False

    def _on_list_current(self, item: QListWidgetItem | None,
                         _previous: QListWidgetItem | None) -> None:
        self._update_details()
        if item is not None:
            self.styleSelected.emit(item.data(STYLE_ROLE))

    def _update_details(self) -> None:
        style = self.current_style()
        self.ios_button.setEnabled(style is not None and training_included())
        self.onnx_button.setEnabled(style is not None)
        if style is None:
            self.details.setText("No style selected")
            return
        weights = f"{style.weights:,} weights" if style.weights else ""
        facts = " · ".join(x for x in (style.preset, weights) if x)
        self.details.setText(f"<b>{style.title or style.name}</b><br>{facts}")

    def _on_search_changed(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            style = item.data(STYLE_ROLE)
            haystack = f"{style.name} {style.title} {style.artist}".lower()
            item.setHidden(bool(needle) and needle not in haystack)

    def request_export(self, kind: str) -> None:
        if (style := self.current_style()) is not None:
            self.exportRequested.emit(style, kind)

    # -- editing -----------------------------------------------------------------------------
    def _on_list_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        style = item.data(STYLE_ROLE)
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self._ask_rename(style)).setEnabled(not style.bundled)
        menu.addAction("Delete…", lambda: self._ask_delete(style)).setEnabled(not style.bundled)
        menu.addSeparator()
        menu.addAction("Reveal file", lambda: reveal(Path(style.path)))
        ios = menu.addAction("Export to iPhone…", lambda: self.exportRequested.emit(style, "ios"))
        ios.setEnabled(training_included())
        menu.addAction("Export ONNX…", lambda: self.exportRequested.emit(style, "onnx"))
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def _ask_rename(self, style: Style) -> None:
        new, ok = QInputDialog.getText(self, "Rename style", "New name:", text=style.name)
        if ok and new.strip() and new.strip() != style.name:
            self.rename_style(style.name, new.strip())

    def _ask_delete(self, style: Style) -> None:
        answer = QMessageBox.question(self, "Delete style",
                                      f"Delete your style “{style.title or style.name}”?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_style(style.name)

    def rename_style(self, name: str, new_name: str) -> None:
        from engine.styles import rename_user_style

        try:
            rename_user_style(name, new_name)
        except StudioError as exc:
            self._errors.show_error(exc)
            return
        self.refresh(select=new_name)

    def delete_style(self, name: str) -> None:
        from engine.styles import delete_user_style

        try:
            delete_user_style(name)
        except StudioError as exc:
            self._errors.show_error(exc)
            return
        self.refresh()

    def import_model(self, path: Path) -> None:
        worker = JobWorker(import_style_job(path))
        worker.finished.connect(self._on_style_imported)
        worker.failed.connect(self._errors.show_error)
        self._jobs.start("import-style", worker)

    def _on_style_imported(self, style: Style) -> None:
        self.refresh(select=style.name)

    # -- instant styles (issue #16) -----------------------------------------------------------
    def choose_painting(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Instant style from a painting",
                                              str(Path.home()), PAINTING_FILTER)
        if path:
            self.make_instant_style(Path(path))

    def make_instant_style(self, painting: Path) -> None:
        """Make and install a style from ``painting``; queued while another one is made."""
        if self.instant_running():
            self._paintings.append(painting)
            return
        worker = JobWorker(instant_style_job(painting))
        worker.progress.connect(self._on_instant_progress)
        worker.finished.connect(self._on_instant_finished)
        worker.failed.connect(self._errors.show_error)
        worker.done.connect(self._on_instant_done)
        self._instant_worker = worker
        self.instant_label.setText(f"Making a style from {painting.name}…")
        self.instant_cancel.setEnabled(True)
        self._jobs.start(INSTANT_JOB, worker)
        self._update_instant_controls()

    def instant_running(self) -> bool:
        """True from the start of an instant style until its job has ended (cancelled too)."""
        return self._instant_worker is not None

    def cancel_instant(self) -> None:
        """Cancel the instant style being made (and the queued ones); it leaves no file."""
        self._paintings.clear()
        if self.instant_running():
            self.instant_label.setText("Cancelling…")
            self.instant_cancel.setEnabled(False)
            self._jobs.cancel(INSTANT_JOB)

    def _update_instant_controls(self) -> None:
        running = self.instant_running()
        if running != self.instant_busy.isVisibleTo(self):
            self.instantBusyChanged.emit(running)
        self.instant_busy.setVisible(running)
        self.instant_button.setEnabled(instant_included() and not running)
        if not instant_included():
            self.instant_button.setToolTip(f"Not in this build: {INSTANT_MISSING}")

    @Slot(int, int, str)
    def _on_instant_progress(self, done: int, total: int, what: str) -> None:
        if self.instant_cancel.isEnabled():  # not over "Cancelling…"
            self.instant_label.setText(f"{what[:1].upper()}{what[1:]}… ({done + 1}/{total})")

    @Slot(object)
    def _on_instant_finished(self, style: Style) -> None:
        self.refresh(select=style.name)

    @Slot()
    def _on_instant_done(self) -> None:
        self._instant_worker = None
        self.instant_cancel.setEnabled(True)
        self._update_instant_controls()
        if self._paintings:
            self.make_instant_style(self._paintings.pop(0))

    # -- drops -------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if [p for p in local_paths(event.mimeData().urls()) if not p.is_dir()]:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """``.onnx`` files are imported; any other file is taken as a painting (an instant
        style; a file that is not an image gets the usual error message)."""
        paths = [p for p in local_paths(event.mimeData().urls()) if not p.is_dir()]
        models = local_paths(event.mimeData().urls(), MODEL_SUFFIXES)
        for path in paths:
            if path in models:
                self.import_model(path)
            else:
                self.make_instant_style(path)
        event.acceptProposedAction()


def reveal(path: Path) -> None:
    """Show a file in the system file manager (its folder; Qt has no portable 'select')."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent if path.is_file() else path)))
