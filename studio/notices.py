"""The status bar's file notice: "Saved photo-starry-night.jpg" with a Show in folder button.

Every finished write (save, batch, snapshot, recording, export) ends here, apart from the panes'
live readouts (FPS, latency), so no readout can overwrite it; it stays until the next write.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from studio import icons


class FileNotice(QWidget):
    """Names the last file written and opens its folder on request."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fileNotice")
        self._path: Path | None = None
        self.message = QLabel()
        # Ignored: a long name is cut at the window's edge instead of widening the window.
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.show_button = QToolButton()
        self.show_button.setIcon(icons.standard("DirOpenIcon"))
        self.show_button.setText("Show in folder")
        self.show_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.show_button.clicked.connect(self.show_in_folder)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.show_button)
        self.setVisible(False)

    def show_file(self, message: str, path: Path) -> None:
        """Show ``message`` (which names the file) until the next one; the tooltip has the path."""
        self._path = Path(path)
        self.message.setText(message)
        self.message.setToolTip(str(path))
        self.setVisible(True)

    def path(self) -> Path | None:
        return self._path

    def show_in_folder(self) -> None:
        """Open the folder holding the file (Qt has no portable way to select the file)."""
        if self._path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._path.parent)))
