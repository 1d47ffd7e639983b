"""Shared UI state: one small QObject, one ``*Changed`` signal per property.

Panes read and write it instead of talking to each other; workers never see it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

# The app's stroke sizes: inside the engine's STROKE_SIZES, with the largest working size
# (2048 px) still quick enough for a live preview.
STROKE_SIZE_RANGE = (0.5, 3.0)


class StudioState(QObject):
    """Current style (a model path), strength and colour preservation, shared by all modes, and
    the stroke size of image mode."""

    styleChanged = Signal(str)  # style name ("" when none)
    strengthChanged = Signal(float)  # 0..1
    preserveColorsChanged = Signal(bool)
    strokeSizeChanged = Signal(float)  # within STROKE_SIZE_RANGE; 1 = the usual strokes

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._style = ""
        self._style_path = ""
        self._strength = 1.0
        self._preserve_colors = False
        self._stroke_size = 1.0

    @property
    def style(self) -> str:
        return self._style

    @property
    def style_path(self) -> str:
        """The ONNX file of the current style ("" when none)."""
        return self._style_path

    def set_style(self, name: str, path: str) -> None:
        if (name, path) != (self._style, self._style_path):
            self._style, self._style_path = name, path
            self.styleChanged.emit(name)

    @property
    def strength(self) -> float:
        return self._strength

    def set_strength(self, value: float) -> None:
        value = min(1.0, max(0.0, float(value)))
        if value != self._strength:
            self._strength = value
            self.strengthChanged.emit(value)

    @property
    def preserve_colors(self) -> bool:
        return self._preserve_colors

    def set_preserve_colors(self, value: bool) -> None:
        if bool(value) != self._preserve_colors:
            self._preserve_colors = bool(value)
            self.preserveColorsChanged.emit(self._preserve_colors)

    @property
    def stroke_size(self) -> float:
        return self._stroke_size

    def set_stroke_size(self, value: float) -> None:
        value = min(STROKE_SIZE_RANGE[1], max(STROKE_SIZE_RANGE[0], float(value)))
        if value != self._stroke_size:
            self._stroke_size = value
            self.strokeSizeChanged.emit(value)
