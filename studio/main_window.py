"""The main window: builds the panes and workers and wires their signals. No logic lives here."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from engine.deps import INSTANT_MISSING, TRAINING_MISSING, instant_included, training_included
from studio import icons
from studio.dialogs.about_dialog import AboutDialog
from studio.dialogs.export_dialog import ExportController
from studio.drops import MODEL_SUFFIXES, local_paths
from studio.error_dialog import ErrorReporter
from studio.notices import FileNotice
from studio.panes.gallery_pane import GalleryPane
from studio.panes.image_pane import ImagePane
from studio.panes.style_controls import StyleControls
from studio.panes.webcam_pane import WebcamPane
from studio.state import StudioState
from studio.workers.inference_worker import InferenceWorker
from studio.workers.job_worker import JobRunner
from studio.workers.live_session import LiveSession
from studio.workers.thread import WorkerThread

IMAGE_TAB, WEBCAM_TAB = 0, 1


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings, reveal_exports: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("TinyStyle Studio")
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)
        self.settings = settings
        self.state = StudioState(self)
        self.errors = ErrorReporter(self)
        self.jobs = JobRunner(self)
        self.image_inference = InferenceWorker()
        self._image_thread = WorkerThread(self.image_inference, "image-inference")
        self._image_thread.start()
        self.session = LiveSession(self)
        self.gallery = GalleryPane(self.jobs, self.errors)
        self.controls = StyleControls(self.state, settings)
        self.image_pane = ImagePane(self.state, self.image_inference, self.jobs, self.errors,
                                    settings)
        self.webcam_pane = WebcamPane(self.state, self.session, self.jobs, self.errors, settings)
        self.exporter = ExportController(self, self.jobs, self.errors, settings, reveal_exports)
        self.wizard = None
        self._camera_paused = False  # stopped by leaving webcam mode, restarts on return
        self.notice = FileNotice()
        self._build_layout()
        self._build_actions()
        for source in (self.image_pane, self.webcam_pane, self.exporter):
            source.fileWritten.connect(self._on_file_written)
        self.gallery.styleSelected.connect(self._on_gallery_style)
        self.gallery.exportRequested.connect(self.exporter.ask_and_export)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._restore()

    def _build_layout(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("modeTabs")
        self.tabs.addTab(self.image_pane, icons.standard("FileIcon"), "Image")
        self.tabs.addTab(self.webcam_pane, icons.standard("ComputerIcon"), "Webcam")
        self.tabs.setCornerWidget(self.controls, Qt.Corner.TopRightCorner)
        # Without scroll buttons the tabs count in the minimum width: none is cut off.
        self.tabs.tabBar().setUsesScrollButtons(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 8, 8, 0)
        right_layout.addWidget(self.tabs)
        splitter = QSplitter()
        splitter.addWidget(self.gallery)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([280, 1000])
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.setCentralWidget(central)
        self.statusBar().addWidget(self.notice, 1)
        self.statusBar().showMessage("Drop photos anywhere, or pick a style and open a photo")

    def _action(self, menu, text: str, slot, shortcut=None, icon: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(icons.standard(icon))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&Open…", self.open_for_mode, QKeySequence.StandardKey.Open)
        self._action(file, "&Paste image", self.image_pane.paste, QKeySequence.StandardKey.Paste)
        self._action(file, "&Save", self.image_pane.save, QKeySequence.StandardKey.Save)
        self._action(file, "Save &As…", self.image_pane.save_as_dialog,
                     QKeySequence.StandardKey.SaveAs)
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        style = bar.addMenu("&Style")
        train = self._action(style, "&Train a new style…", self.open_wizard, "Ctrl+T")
        instant = self._action(style, "&Instant style from a painting…",
                               self.gallery.choose_painting, "Ctrl+Shift+T")
        self.gallery.instantBusyChanged.connect(instant.setDisabled)
        needs_torch = [
            train,
            self._action(style, "Export to &iPhone…", lambda: self.gallery.request_export("ios"),
                         "Ctrl+E")]
        # the light build (no torch), an install without the teacher: say why, not fail later
        missing = [(a, TRAINING_MISSING) for a in needs_torch if not training_included()]
        missing += [(instant, INSTANT_MISSING)] if not instant_included() else []
        for action, why in missing:
            action.setEnabled(False)
            action.setToolTip(f"Not in this build: {why}")
        style.setToolTipsVisible(bool(missing))
        self._action(style, "Export &ONNX…", lambda: self.gallery.request_export("onnx"),
                     "Ctrl+Shift+E")
        self._action(style, "Stronger", lambda: self.controls.nudge(10), "Ctrl+]")
        self._action(style, "Weaker", lambda: self.controls.nudge(-10), "Ctrl+[")
        view = bar.addMenu("&View")
        self._action(view, "&Image mode", lambda: self.tabs.setCurrentIndex(IMAGE_TAB), "Ctrl+1")
        self._action(view, "&Webcam mode", lambda: self.tabs.setCurrentIndex(WEBCAM_TAB), "Ctrl+2")
        self._action(view, "Zoom to &fit", self.image_pane.view.zoom_fit, "Ctrl+0")
        self._action(view, "&Actual size (100%)", self.image_pane.view.zoom_actual, "Ctrl+Alt+0")
        self._action(view, "Start/stop &camera", self.webcam_pane.toggle, "Space")
        helpmenu = bar.addMenu("&Help")
        self._action(helpmenu, "&About TinyStyle Studio", self.show_about)

    # -- wiring slots ------------------------------------------------------------------------
    def open_for_mode(self) -> None:
        """Ctrl+O opens what the current mode shows: photos, or a video file in webcam mode."""
        if self.tabs.currentIndex() == WEBCAM_TAB:
            self.webcam_pane.choose_video()
        else:
            self.image_pane.open_dialog()

    def _on_file_written(self, message: str, path: Path) -> None:
        self.statusBar().clearMessage()  # a temporary message would hide the notice
        self.notice.show_file(message, path)

    def _on_gallery_style(self, style) -> None:
        self.state.set_style(style.name, str(style.path))
        self.settings.setValue("style/last", style.name)
        self.statusBar().showMessage(f"Style: {style.title or style.name}", 3000)

    def _on_tab_changed(self, index: int) -> None:
        self.settings.setValue("window/mode", index)
        if index == WEBCAM_TAB and self._camera_paused:
            self._camera_paused = False
            self.webcam_pane.start()  # it was running when you left: pick up where you were
        elif index == WEBCAM_TAB and not self.jobs.is_running("probe-cameras") \
                and self.webcam_pane.current_source() is None:
            self.webcam_pane.probe()
        elif index != WEBCAM_TAB and self.session.is_running():
            self._camera_paused = True
            self.webcam_pane.stop()  # the camera light goes off when you leave the mode

    def open_wizard(self) -> None:
        from studio.wizard.train_wizard import TrainWizard

        if self.wizard is None:
            self.wizard = TrainWizard(self.jobs, self.errors, self.settings, self)
            self.wizard.styleInstalled.connect(lambda name: self.gallery.refresh(select=name))
            self.wizard.instantRequested.connect(self.gallery.make_instant_style)
        self.wizard.show()
        self.wizard.raise_()

    def show_about(self) -> None:
        AboutDialog(self.gallery.styles(), self).open()

    # -- settings ----------------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        self.gallery.refresh(select=str(self.settings.value("style/last", "")))
        self.tabs.setCurrentIndex(int(self.settings.value("window/mode", IMAGE_TAB)))

    # -- drops anywhere ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        models = local_paths(urls, MODEL_SUFFIXES)
        for model in models:
            self.gallery.import_model(model)
        photos = [p for p in local_paths(urls) if p not in models]
        if photos:
            self.tabs.setCurrentIndex(IMAGE_TAB)
            self.image_pane.open_paths(photos)
        event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.wizard is not None and not self.wizard.confirm_close():
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Cancel every job and stop every thread, waiting with a timeout (never terminate)."""
        if self.wizard is not None:
            self.wizard.shutdown()
        self.webcam_pane.shutdown()
        self.jobs.shutdown()
        self._image_thread.stop()
        self.settings.sync()
