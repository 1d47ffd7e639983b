"""The wizard's choice pages: painting, its crop preview, content photos, size and quality."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWizardPage,
)

from engine.training.config import INSTANT_INIT, MAX_STROKE, MIN_STROKE
from studio.drops import local_paths

# Median FPS at 640x480, ONNX Runtime, 2 CPU threads, from one `tinystyle bench` run on the
# project's 2-core machine (2026-11-26, third session, a busy host: seed-tiny ran 10.9 FPS
# where the quietest runs gave ~14); the ratios between presets are what transfers.
EXPECTED_FPS_640 = {"fast-16-r5-zs": 52.4, "fast-16-r6-zs": 48.0, "fast-16-r5-zp": 46.0,
                    "fast-16-r5": 44.5, "fast-16": 52.8, "seed-tiny": 10.9, "johnson": 1.2}
# What each training preset is for, in the quality list (a preset missing here shows its name).
PRESET_LABELS = {
    "quick": "quick: the painting's colours and fine texture (Gram losses)",
    "balanced": "balanced: quick's losses, larger crops, longer",
    "painted": "painted: repaints the photos like the painting (needs the painting teacher)",
    "refine": "refine: painted, started from the instant style (fastest to a painted look)",
    "best": "best: large crops, long (for a GPU)",
}
# No minutes are promised here: a constant measured elsewhere said "about 6 min" for a run that
# took 100+ min on a busy machine. The training page times the first steps on this computer.
TIME_NOTE = "measured on this computer during the first training steps"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "my-style"


class FittedImage(QLabel):
    """An image shown at most at its own size, smaller when space is short: never widens a page.

    The crop preview is ``style_size`` px (1024 by default), taller than a 768 px screen.
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(200, 150)
        self._image = QImage()

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._image.isNull():
            return
        room = self.contentsRect().size().boundedTo(self._image.size())
        self.setPixmap(QPixmap.fromImage(self._image.scaled(
            room, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)))


class DropLabel(QLabel):
    """A label that accepts one dropped image file."""

    fileDropped = Signal(Path)

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setAcceptDrops(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(360, 220)
        self.setStyleSheet("border: 2px dashed #b8c0cc; border-radius: 8px; color: #68707c;"
                           " background: white;")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = local_paths(event.mimeData().urls())
        if paths:
            self.fileDropped.emit(paths[0])
            event.acceptProposedAction()


class PaintingPage(QWizardPage):
    instantRequested = Signal(Path)  # the painting, for an instant style (made by the gallery)

    def __init__(self, settings: QSettings, instant_available: bool) -> None:
        super().__init__()
        self._settings = settings
        self._instant_available = instant_available
        self.setTitle("Pick a painting")
        self.setSubTitle("Drop a picture of the painting whose style you want, or choose a file.")
        self.drop = DropLabel("Drop a painting here")
        self.drop.fileDropped.connect(self.set_painting)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose)
        self.instant_button = QPushButton("Instant style now")
        self.instant_button.setToolTip(
            "Make a style from this painting in seconds, without training; it appears in the "
            "gallery. Training (next pages) follows the painting more closely."
            if instant_available
            else "Needs the painting teacher: pip install 'tinystyle[teacher]'")
        self.instant_button.setEnabled(False)
        self.instant_button.clicked.connect(
            lambda: self.instantRequested.emit(Path(self.path_edit.text())))
        self.title_edit = QLineEdit(placeholderText="e.g. The Starry Night")
        self.name_edit = QLineEdit(placeholderText="starry-night")
        self.title_edit.textEdited.connect(lambda t: self.name_edit.setText(slug(t)))
        self.path_edit = QLineEdit()
        self.path_edit.setVisible(False)
        self.registerField("painting*", self.path_edit)
        self.registerField("name*", self.name_edit)
        self.registerField("title", self.title_edit)
        form = QFormLayout()
        form.addRow("Style title", self.title_edit)
        form.addRow("Short name", self.name_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.drop, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(choose)
        buttons.addWidget(self.instant_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(self.path_edit)

    def cleanupPage(self) -> None:  # noqa: N802
        """Keep what was entered: by default QWizard clears fields on Back and on Cancel, so
        reopening the wizard lost the painting, title and name."""

    def _choose(self) -> None:
        start = str(self._settings.value("folders/paintings", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Choose a painting", start,
                                              "Images (*.jpg *.jpeg *.png *.webp)")
        if path:
            self.set_painting(Path(path))

    def set_painting(self, path: Path) -> None:
        pix = QPixmap(str(path))
        if pix.isNull():
            self.drop.setText(f"{path.name} is not an image this app can read")
            self.path_edit.setText("")
            self.instant_button.setEnabled(False)
            return
        self.instant_button.setEnabled(self._instant_available)
        self._settings.setValue("folders/paintings", str(path.parent))
        self.drop.setPixmap(pix.scaled(self.drop.size() * 0.95, Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation))
        self.path_edit.setText(str(path))
        if not self.title_edit.text():
            self.title_edit.setText(path.stem.replace("-", " ").replace("_", " ").title())
            self.name_edit.setText(slug(path.stem))


class CropPage(QWizardPage):
    """Shows the painting at the scale the network learns it from."""

    def __init__(self, style_size: int) -> None:
        super().__init__()
        self._style_size = style_size
        self.setTitle("How the network sees the painting")
        self.setSubTitle(f"Training looks at the painting resized to {style_size} px on its short "
                         "side: the brush strokes and colours visible here are what it learns "
                         "(shown smaller when the window is).")
        self.preview = FittedImage()
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)

    def initializePage(self) -> None:  # noqa: N802
        image = QImage(str(self.field("painting")))
        if image.isNull():
            return
        scaled = image.scaled(self._style_size * 4, self._style_size,
                              Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                              Qt.TransformationMode.SmoothTransformation)
        side = min(scaled.width(), scaled.height())
        crop = scaled.copy((scaled.width() - side) // 2, (scaled.height() - side) // 2, side, side)
        self.preview.set_image(crop)


class ContentPage(QWizardPage):
    def __init__(self, bundled: Path, settings: QSettings) -> None:
        super().__init__()
        self._bundled, self._settings = bundled, settings
        self.setTitle("Pick content photos")
        self.setSubTitle("The network practises on these photos. Variety helps: people, "
                         "buildings, landscapes, close-ups.")
        count = len(list(bundled.glob("*.jpg"))) if bundled.is_dir() else 0
        self.use_bundled = QRadioButton(f"The bundled photo set ({count} photos)")
        self.use_folder = QRadioButton("Photos in a folder:")
        group = QButtonGroup(self)
        group.addButton(self.use_bundled)
        group.addButton(self.use_folder)
        self.use_bundled.setChecked(True)
        self.folder_edit = QLineEdit(readOnly=True)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.use_folder)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.use_bundled)
        layout.addLayout(row)
        layout.addStretch(1)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Photos folder", str(Path.home()))
        if folder:
            self.folder_edit.setText(folder)
            self.use_folder.setChecked(True)

    def content(self) -> Path:
        if self.use_folder.isChecked() and self.folder_edit.text():
            return Path(self.folder_edit.text())
        return self._bundled


class PresetPage(QWizardPage):
    """Network size (weights, expected FPS) and training quality (expected minutes)."""

    def __init__(self, net_presets: dict, train_presets: dict, default_net: str,
                 default_train: str) -> None:
        super().__init__()
        self._train_presets = train_presets
        self.setTitle("Size and quality")
        self.setSubTitle("Smaller networks run faster live; longer training looks better.")
        self.net = QComboBox()
        for name in net_presets:
            fps = EXPECTED_FPS_640.get(name)
            self.net.addItem(f"{name}" + (f"  ·  ~{fps:g} FPS at 640×480" if fps else ""), name)
        self._default_net = default_net
        self.net.setCurrentIndex(max(0, self.net.findData(default_net)))
        self.weights = QLabel("counting weights…")
        self._counts: dict[str, int] = {}
        self.net.currentIndexChanged.connect(self._update_weights)
        self.quality = QComboBox()
        for name in train_presets:
            self.quality.addItem(PRESET_LABELS.get(name, name), name)
        self.quality.setCurrentIndex(max(0, self.quality.findData(default_train)))
        self.steps = QSpinBox(minimum=1, maximum=100_000, singleStep=50)
        self.image_size = QSpinBox(minimum=32, maximum=512, singleStep=32)
        # Create ML's two controls: how far from the photo, and how big the painting's strokes.
        self.strength = QDoubleSpinBox(minimum=0.1, maximum=1.0, singleStep=0.1, decimals=2)
        self.strength.setToolTip("Style strength: lower keeps more of the photo")
        self.stroke_size = QDoubleSpinBox(minimum=MIN_STROKE, maximum=MAX_STROKE,
                                          singleStep=0.25, decimals=2, suffix="×")
        self.stroke_size.setToolTip("Stroke size: the painting's strokes on the photo")
        self.minutes = QLabel(TIME_NOTE)
        self.quality.currentIndexChanged.connect(self._on_quality)
        form = QFormLayout(self)
        form.addRow("Network", self.net)
        form.addRow("", self.weights)
        form.addRow("Quality", self.quality)
        form.addRow("Steps", self.steps)
        form.addRow("Crop size (px)", self.image_size)
        form.addRow("Style strength", self.strength)
        form.addRow("Stroke size", self.stroke_size)
        form.addRow("Expected time", self.minutes)
        self._on_quality()

    def _on_quality(self) -> None:
        cfg = self._train_presets[self.quality.currentData()]
        from_instant = cfg.init_from == INSTANT_INIT
        if from_instant:  # instant styles exist for the default network only
            self.net.setCurrentIndex(max(0, self.net.findData(self._default_net)))
        self.net.setEnabled(not from_instant)
        self.net.setToolTip("refine starts from the instant style, made for this network"
                            if from_instant else "")
        self.steps.setValue(cfg.steps)
        self.image_size.setValue(cfg.image_size)
        self.strength.setValue(cfg.style_strength)
        self.stroke_size.setValue(cfg.stroke_size)

    def set_weight_counts(self, counts: dict[str, int]) -> None:
        self._counts = counts
        self._update_weights()

    def _update_weights(self) -> None:
        count = self._counts.get(self.net.currentData())
        self.weights.setText(f"{count:,} weights" if count else "counting weights…")
