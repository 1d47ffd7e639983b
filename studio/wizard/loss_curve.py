"""A loss curve drawn with QPainter: total loss per step on a log scale, no plotting library."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

MARGIN = 32  # px around the plot for the axis labels
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
        plot = QRectF(MARGIN + 8, 10, self.width() - MARGIN - 18, self.height() - MARGIN - 6)
        p.setPen(QPen(QColor("#dcdfe4"), 1))
        p.drawRect(plot)
        p.setPen(QColor("#68707c"))
        p.drawText(QRectF(plot.left(), plot.bottom() + 4, plot.width(), 18),
                   Qt.AlignmentFlag.AlignCenter, "step")
        if len(self._points) < 2:
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "The loss curve appears here")
            p.end()
            return
        logs = [math.log10(v) for _, v in self._points]
        low, high = min(logs), max(logs)
        span = max(high - low, 1e-6)
        last_step = max(self._total_steps, self._points[-1][0], 1)
        path = QPainterPath()
        for i, ((step, _), lv) in enumerate(zip(self._points, logs, strict=True)):
            at = QPointF(plot.left() + plot.width() * step / last_step,
                         plot.bottom() - plot.height() * (lv - low) / span)
            path.lineTo(at) if i else path.moveTo(at)
        p.setPen(QPen(QColor("#3d6fd8"), 2))
        p.drawPath(path)
        p.setPen(QColor("#68707c"))
        p.drawText(QRectF(0, plot.top() - 4, MARGIN + 4, 16), Qt.AlignmentFlag.AlignRight,
                   _short(10 ** high))
        p.drawText(QRectF(0, plot.bottom() - 12, MARGIN + 4, 16), Qt.AlignmentFlag.AlignRight,
                   _short(10 ** low))
        p.end()


def _short(value: float) -> str:
    return f"{value:.3g}" if 1e-2 <= value < 1e4 else f"{value:.0e}"
