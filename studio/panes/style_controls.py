"""Strength slider and "keep original colours", bound to the shared StudioState.

Both are remembered in QSettings: a user who prefers 60% should not have to set it every launch.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSignalBlocker, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QWidget

from studio.state import StudioState


class StyleControls(QWidget):
    """Writes user changes to ``state`` and follows it (no echo loops: signals are blocked)."""

    def __init__(self, state: StudioState, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        state.set_strength(float(settings.value("style/strength", state.strength)))
        state.set_preserve_colors(str(settings.value("style/preserve_colors",
                                                     state.preserve_colors)).lower() == "true")
        state.strengthChanged.connect(lambda v: settings.setValue("style/strength", v))
        state.preserveColorsChanged.connect(
            lambda v: settings.setValue("style/preserve_colors", v))
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setObjectName("strengthSlider")
        self.strength.setRange(0, 100)
        self.strength.setFixedWidth(180)
        self.strength.setToolTip("How much of the style to apply (Ctrl+[ / Ctrl+])")
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(36)
        self.preserve = QCheckBox("Keep original colours")
        self.preserve.setToolTip("Take the painting's brush strokes but keep the photo's colours")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(QLabel("Strength"))
        layout.addWidget(self.strength)
        layout.addWidget(self.strength_label)
        layout.addSpacing(12)
        layout.addWidget(self.preserve)
        self.strength.valueChanged.connect(lambda v: state.set_strength(v / 100))
        self.preserve.toggled.connect(state.set_preserve_colors)
        state.strengthChanged.connect(self._on_state_changed)
        state.preserveColorsChanged.connect(self._on_state_changed)
        self._on_state_changed()

    def _on_state_changed(self, *_args: object) -> None:
        with QSignalBlocker(self.strength), QSignalBlocker(self.preserve):
            self.strength.setValue(round(self._state.strength * 100))
            self.preserve.setChecked(self._state.preserve_colors)
        self.strength_label.setText(f"{round(self._state.strength * 100)}%")

    def nudge(self, delta: int) -> None:
        """Keyboard shortcut helper: move the strength by ``delta`` percent."""
        self.strength.setValue(self.strength.value() + delta)
