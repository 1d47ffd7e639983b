"""A loss curve drawn with QPainter: total loss per step on a log scale, no plotting library."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

PAD = 8  # px between the axis labels and the plot
LABEL_COLOR = "#3c424b"  # dark grey on white: readable, unlike the old light #68707c
MAX_POINTS = 2000  # older points are thinned out by halving beyond this


class LossCurve(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(260, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._points: list[tuple[int, float]] = []
        self._total_steps = 0

    def clear(self, total_steps: int = 0) -> None:
        self._points, self._total_steps = [], total_steps
        self.update()

    def add(self, step: int, loss: float) -> None:
        if not math.isfinite(loss) or loss <= 0:
            return
        self._points.append((step, loss))
        if len(self._points) > MAX_POINTS:
            self._points = self._points[::2]
        self.update()

    def points(self) -> list[tuple[int, float]]:
        return list(self._points)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        metrics = p.fontMetrics()
        line = metrics.height()
        # The left margin fits the widest loss label, so no label is ever cut off.
        left = max(metrics.horizontalAdvance(t) for t in ("loss", "0.0123", "1.23e+03")) + 2 * PAD
        plot = QRectF(left, line, self.width() - left - PAD, self.height() - 3 * line - PAD)
        p.setPen(QPen(QColor("#c4c9d1"), 1))
        p.drawRect(plot)
        p.setPen(QColor(LABEL_COLOR))
        p.drawText(QRectF(0, 0, left - PAD, line), Qt.AlignmentFlag.AlignRight, "loss")
        last_step = max(self._total_steps, self._points[-1][0] if self._points else 0, 1)
        below = QRectF(plot.left(), plot.bottom() + PAD / 2, plot.width(), line)
        p.drawText(below, Qt.AlignmentFlag.AlignLeft, "0")
        p.drawText(below, Qt.AlignmentFlag.AlignRight, f"{last_step:,}")
        p.drawText(below.translated(0, line), Qt.AlignmentFlag.AlignCenter, "step")
        if len(self._points) < 2:
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "The loss curve appears here")
            p.end()
            return
        logs = [math.log10(v) for _, v in self._points]
        low, high = min(logs), max(logs)
        span = max(high - low, 1e-6)
        path = QPainterPath()
        for i, ((step, _), lv) in enumerate(zip(self._points, logs, strict=True)):
            at = QPointF(plot.left() + plot.width() * step / last_step,
                         plot.bottom() - plot.height() * (lv - low) / span)
            path.lineTo(at) if i else path.moveTo(at)
        p.setPen(QPen(QColor("#3d6fd8"), 2))
        p.drawPath(path)
        p.setPen(QColor(LABEL_COLOR))
        p.drawText(QRectF(0, plot.top(), left - PAD, line), Qt.AlignmentFlag.AlignRight,
                   _short(10 ** high))
        p.drawText(QRectF(0, plot.bottom() - line, left - PAD, line),
                   Qt.AlignmentFlag.AlignRight, _short(10 ** low))
        p.end()


def _short(value: float) -> str:
    return f"{value:.3g}" if 1e-2 <= value < 1e4 else f"{value:.0e}"
