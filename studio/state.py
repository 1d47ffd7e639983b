"""Shared UI state: one small QObject, one ``*Changed`` signal per property.

Panes read and write it instead of talking to each other; workers never see it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class StudioState(QObject):
    """Current style (a model path), strength and colour preservation, shared by all modes."""

    styleChanged = Signal(str)  # style name ("" when none)
    strengthChanged = Signal(float)  # 0..1
    preserveColorsChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._style = ""
        self._style_path = ""
        self._strength = 1.0
        self._preserve_colors = False

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
