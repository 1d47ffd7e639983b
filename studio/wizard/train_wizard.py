"""Train a new style: painting -> crop preview -> photos -> size/quality -> training.

Training runs as a TrainingWorker job (one at a time). The last page shows progress, ETA, a loss
curve and a live preview, with pause and cancel; a cancelled or crashed run resumes from its
checkpoint. When it ends the style is installed and ``styleInstalled`` tells the gallery.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QWidget,
    QWizard,
    QWizardPage,
)

from engine.errors import StudioError
from studio.error_dialog import ErrorReporter
from studio.logs import log_path
from studio.wizard.loss_curve import LossCurve
from studio.wizard.pages import ContentPage, CropPage, FittedImage, PaintingPage, PresetPage
from studio.workers.job_worker import JobContext, JobRunner, JobWorker
from studio.workers.training_worker import TrainingWorker

if TYPE_CHECKING:
    from engine.styles import Style
    from engine.training.config import TrainConfig


MEASURE_STEPS = 5  # steps timed on this computer before the page shows a time left


def _weight_counts(ctx: JobContext) -> dict[str, int]:
    from engine.models.config import NET_PRESETS
    from engine.models.transformer import TransformerNet, count_weights

    return {name: count_weights(TransformerNet(cfg)) for name, cfg in NET_PRESETS.items()}


def _format_eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s left"
    return f"{seconds // 60} min {seconds % 60:02d} s left"


class TrainPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Training")
        self.setSubTitle("You can keep using the app meanwhile. Pause or cancel at any time: "
                         "a cancelled run can be resumed later.")
        self.finished = False
        self.progress = QProgressBar()
        self.eta = QLabel("Press Start to train.")
        self.curve = LossCurve()
        self.preview = FittedImage("The preview appears after the first steps")
        self.resume_box = QCheckBox("Continue the earlier run from its checkpoint")
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.cancel_button = QPushButton("Cancel training")
        grid = QGridLayout(self)
        grid.addWidget(self.progress, 0, 0, 1, 3)
        grid.addWidget(self.eta, 1, 0, 1, 3)
        grid.addWidget(self.curve, 2, 0, 1, 2)
        grid.addWidget(self.preview, 2, 2)
        grid.addWidget(self.resume_box, 3, 0, 1, 3)
        grid.addWidget(self.start_button, 4, 0)
        grid.addWidget(self.pause_button, 4, 1)
        grid.addWidget(self.cancel_button, 4, 2)
        grid.setRowStretch(2, 1)

    def isComplete(self) -> bool:  # noqa: N802
        return self.finished


class TrainWizard(QWizard):
    styleInstalled = Signal(str)  # style name
    instantRequested = Signal(Path)  # a painting to make an instant style from (the gallery does)

    def __init__(self, jobs: JobRunner, errors: ErrorReporter, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from engine.io.paths import bundled_photos_dir
        from engine.models.config import DEFAULT_NET_PRESET, NET_PRESETS
        from engine.training.config import TRAIN_PRESETS, TrainConfig, default_train_preset
        from engine.training.teacher import teacher_installed

        self._jobs, self._errors = jobs, errors
        self._worker: TrainingWorker | None = None
        self._first_step: int | None = None  # this run's first reported step (speed baseline)
        self.setWindowTitle("Train a new style")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage)
        self.resize(760, 600)
        self.painting_page = PaintingPage(settings, instant_available=teacher_installed())
        self.painting_page.instantRequested.connect(self.instantRequested)
        self.content_page = ContentPage(bundled_photos_dir(), settings)
        self.preset_page = PresetPage(NET_PRESETS, TRAIN_PRESETS, DEFAULT_NET_PRESET,
                                      default_train_preset())
        self.train_page = TrainPage()
        self._train_presets = TRAIN_PRESETS
        for page in (self.painting_page, CropPage(TrainConfig().style_size), self.content_page,
                     self.preset_page, self.train_page):
            self.addPage(page)
        self.train_page.start_button.clicked.connect(self.start_training)
        self.train_page.pause_button.toggled.connect(self._on_pause_toggled)
        self.train_page.cancel_button.clicked.connect(self.cancel_training)
        self.currentIdChanged.connect(self._on_page_changed)
        counter = JobWorker(_weight_counts)
        counter.finished.connect(self.preset_page.set_weight_counts)
        jobs.start("weight-counts", counter)
        self.config_overrides: dict[str, Any] = {}  # extra TrainConfig fields (tests, experts)

    # -- configuration -----------------------------------------------------------------------
    def style_name(self) -> str:
        return str(self.field("name")).strip()

    def train_config(self) -> TrainConfig:
        base = self._train_presets[self.preset_page.quality.currentData()]
        return dataclasses.replace(base, net=self.preset_page.net.currentData(),
                                   steps=self.preset_page.steps.value(),
                                   image_size=self.preset_page.image_size.value(),
                                   style_strength=self.preset_page.strength.value(),
                                   stroke_size=self.preset_page.stroke_size.value(),
                                   **self.config_overrides)

    def checkpoint_path(self) -> Path:
        from engine.io.paths import user_runs_dir
        from engine.training.config import CHECKPOINT_NAME

        return user_runs_dir() / self.style_name() / CHECKPOINT_NAME

    def _on_page_changed(self, page_id: int) -> None:
        if self.page(page_id) is self.train_page:
            has_checkpoint = self.checkpoint_path().is_file()
            self.train_page.resume_box.setVisible(has_checkpoint)
            self.train_page.resume_box.setChecked(has_checkpoint)
            self._set_running(False)

    # -- running -----------------------------------------------------------------------------
    def is_training(self) -> bool:
        return self._worker is not None

    def start_training(self) -> None:
        try:
            config = self.train_config()
        except StudioError as exc:
            self._errors.show_error(exc)
            return
        page = self.train_page
        page.finished = False
        page.completeChanged.emit()
        page.curve.clear(config.steps)
        page.progress.setRange(0, config.steps)
        page.progress.setValue(0)
        page.eta.setText("Preparing the loss network and photos…")
        self._first_step = None
        worker = TrainingWorker(config, Path(self.field("painting")), self.content_page.content(),
                                self.style_name(), str(self.field("title")).strip(),
                                resume=page.resume_box.isVisible() and page.resume_box.isChecked())
        worker.progress.connect(self._on_setup)
        worker.trainProgress.connect(self._on_progress)
        worker.preview.connect(self._on_preview)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.done.connect(self._on_done)
        self._worker = worker
        self._set_running(True)
        self._jobs.start("train", worker)

    def _set_running(self, running: bool) -> None:
        page = self.train_page
        page.start_button.setEnabled(not running)
        page.pause_button.setEnabled(running)
        page.cancel_button.setEnabled(running)
        page.resume_box.setEnabled(not running)
        self.button(QWizard.WizardButton.BackButton).setEnabled(not running)

    def _on_pause_toggled(self, paused: bool) -> None:
        if self._worker is not None:
            (self._worker.pause if paused else self._worker.resume)()
        self.train_page.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.train_page.eta.setText("Paused")

    def cancel_training(self) -> None:
        """Stop now; the trainer writes a checkpoint so the run can be resumed."""
        self.train_page.pause_button.setChecked(False)
        self._jobs.cancel("train")

    def _on_setup(self, done: int, total: int, what: str) -> None:
        """Before the first step (the teacher painting its targets): a bar of its own."""
        page = self.train_page
        page.progress.setMaximum(total)
        page.progress.setValue(done)
        page.eta.setText(f"{what[:1].upper()}{what[1:]}: {done} of {total}")

    def _on_progress(self, step: int, total: int, losses: dict, ips: float, eta: float) -> None:
        page = self.train_page
        page.progress.setMaximum(total)
        page.progress.setValue(step)
        page.curve.add(step, float(losses.get("total", sum(losses.values()))))
        if self._first_step is None:
            self._first_step = step
        # No time is promised before a few real steps ran here (the first ones are the slowest).
        speed = (f"{ips:.1f} images/s  ·  {_format_eta(eta)}"
                 if step - self._first_step >= MEASURE_STEPS else "measuring the speed…")
        paused = "Paused  ·  " if page.pause_button.isChecked() else ""
        page.eta.setText(f"{paused}Step {step} of {total}  ·  {speed}")

    def _on_preview(self, step: int, image: QImage) -> None:
        self.train_page.preview.set_image(image)

    def _on_finished(self, style: Style) -> None:
        page = self.train_page
        page.finished = True
        page.completeChanged.emit()
        page.eta.setText(f"Done: “{style.title or style.name}” is now in your gallery.")
        self.styleInstalled.emit(style.name)

    def _on_failed(self, error: StudioError) -> None:
        self.train_page.eta.setText("Training stopped.")
        self._errors.show_error(error, title="Training failed",
                                details=f"Reason: {error.message}\nLog: {log_path()}")

    def _on_cancelled(self) -> None:
        self.train_page.eta.setText("Cancelled. Press Start to resume from the checkpoint.")

    def _on_done(self) -> None:
        self._worker = None
        self._set_running(False)
        has_checkpoint = self.checkpoint_path().is_file() and not self.train_page.finished
        self.train_page.resume_box.setVisible(has_checkpoint)
        self.train_page.resume_box.setChecked(has_checkpoint)

    # -- closing -----------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """Ask before abandoning a running training; True when it is fine to close."""
        if not self.is_training():
            return True
        answer = QMessageBox.question(
            self, "Training is running",
            "Stop training? It keeps its checkpoint, so you can resume it later.")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.cancel_training()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.confirm_close():
            event.accept()
        else:
            event.ignore()

    def reject(self) -> None:
        if self.confirm_close():
            super().reject()

    def shutdown(self) -> None:
        if self._worker is not None:
            self._jobs.cancel("train")
