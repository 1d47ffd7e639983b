"""Strength slider and "keep original colours" (both modes), and image mode's stroke size slider,
bound to the shared StudioState.

All are remembered in QSettings: a user who prefers 60% should not have to set it every launch.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QSettings, QSignalBlocker, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QWidget

from studio.state import STROKE_SIZE_RANGE, StudioState

STROKE_STEPS = 20  # slider ticks per unit of stroke size (0.05 steps)


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


class StrokeSizeControl(QWidget):
    """Image mode's "Stroke size" slider (x0.5..x3): how big the style's strokes are relative to
    the photo, whatever its pixel count. Writes ``state.stroke_size`` and follows it."""

    def __init__(self, state: StudioState, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        stored = settings.value("style/stroke_size", state.stroke_size)
        with contextlib.suppress(TypeError, ValueError):  # a hand-edited file: the default
            state.set_stroke_size(float(stored))
        state.strokeSizeChanged.connect(lambda v: settings.setValue("style/stroke_size", v))
        low, high = STROKE_SIZE_RANGE
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("strokeSizeSlider")
        self.slider.setRange(round(low * STROKE_STEPS), round(high * STROKE_STEPS))
        self.slider.setFixedWidth(140)
        self.slider.setToolTip("Size of the style's strokes relative to the photo: the preview "
                               "and the saved image look alike at any resolution")
        self.label = QLabel()
        self.label.setMinimumWidth(40)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(QLabel("Stroke size"))
        layout.addWidget(self.slider)
        layout.addWidget(self.label)
        self.slider.valueChanged.connect(lambda v: state.set_stroke_size(v / STROKE_STEPS))
        state.strokeSizeChanged.connect(self._on_state_changed)
        self._on_state_changed()

    def _on_state_changed(self, *_args: object) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(round(self._state.stroke_size * STROKE_STEPS))
        self.label.setText(f"×{self._state.stroke_size:.2f}")
