"""Before/after viewer: a draggable split line, side-by-side layout, zoom (fit or 1:1) and pan.

Shared by image mode (split) and webcam mode (split or side by side). Painting only: it holds
two QImages and draws them; it never computes anything about them.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

BACKGROUND = QColor("#2b2f36")  # a dark canvas makes both photos read well
HANDLE_GRAB_PX = 10  # how close to the split line a press grabs it
ZOOM_STEP = 1.25
ZOOM_RANGE = (0.05, 16.0)


class ViewMode(Enum):
    SPLIT = "split"
    SIDE_BY_SIDE = "side"
    RESULT = "result"


class CompareView(QWidget):
    """Shows ``after`` with ``before`` revealed left of the split line (or beside it)."""

    zoomChanged = Signal(float)  # current scale (1.0 = 100%)

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setMouseTracking(True)
        self._before = QImage()
        self._after = QImage()
        self._placeholder = placeholder
        self._mode = ViewMode.SPLIT
        self.split = 0.5  # divider position, 0..1 of the image width
        self._fit = True
        self._scale = 1.0
        self._pan = QPointF(0, 0)  # image-centre offset from widget centre, in widget px
        self._drag: str | None = None  # "split" or "pan"
        self._last_pos = QPointF()

    # -- content ---------------------------------------------------------------------------
    def set_images(self, before: QImage, after: QImage) -> None:
        self._before, self._after = before, after
        self.update()

    def clear(self) -> None:
        self.set_images(QImage(), QImage())

    def has_image(self) -> bool:
        return not self._after.isNull()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def set_mode(self, mode: ViewMode) -> None:
        self._mode = mode
        self.update()

    def mode(self) -> ViewMode:
        return self._mode

    # -- zoom --------------------------------------------------------------------------------
    def zoom_fit(self) -> None:
        self._fit, self._pan = True, QPointF(0, 0)
        self.update()
        self.zoomChanged.emit(self.scale())

    def zoom_actual(self) -> None:
        self._set_scale(1.0)

    def zoom_by(self, factor: float) -> None:
        self._set_scale(self.scale() * factor)

    def _set_scale(self, scale: float) -> None:
        self._fit = False
        self._scale = min(ZOOM_RANGE[1], max(ZOOM_RANGE[0], scale))
        self.update()
        self.zoomChanged.emit(self._scale)

    def scale(self) -> float:
        """Current display scale: the fit scale in fit mode."""
        if not self._fit:
            return self._scale
        size = self._content_size()
        if size[0] <= 0 or size[1] <= 0:
            return 1.0
        return min(self.width() / size[0], self.height() / size[1], 1.0) * 0.98

    def _content_size(self) -> tuple[float, float]:
        w, h = self._after.width(), self._after.height()
        return (2 * w + 8, h) if self._mode is ViewMode.SIDE_BY_SIDE else (w, h)

    def image_rect(self) -> QRectF:
        """Where the whole content (one image, or two side by side) is drawn, in widget px."""
        s = self.scale()
        w, h = self._content_size()
        centre = QPointF(self.width() / 2, self.height() / 2) + self._pan
        return QRectF(centre.x() - w * s / 2, centre.y() - h * s / 2, w * s, h * s)

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale() < 1.0)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._after.isNull():
            self._paint_placeholder(painter)
        elif self._mode is ViewMode.SIDE_BY_SIDE:
            self._paint_side_by_side(painter)
        else:
            self._paint_split(painter)
        painter.end()

    def _paint_placeholder(self, painter: QPainter) -> None:
        painter.setPen(QColor("#c3c8d0"))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        painter.setFont(font)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)

    def _paint_split(self, painter: QPainter) -> None:
        rect = self.image_rect()
        painter.drawImage(rect, self._after)
        if self._mode is ViewMode.RESULT or self._before.isNull():
            return
        x = rect.left() + rect.width() * self.split
        painter.save()
        painter.setClipRect(QRectF(rect.left(), rect.top(), x - rect.left(), rect.height()))
        painter.drawImage(rect, self._before)
        painter.restore()
        self._paint_divider(painter, x, rect)

    def _paint_divider(self, painter: QPainter, x: float, rect: QRectF) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        centre = QPointF(x, rect.center().y())
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.setPen(QPen(QColor(0, 0, 0, 60), 1))
        painter.drawEllipse(centre, 11, 11)
        painter.setPen(QPen(QColor("#4a4f57"), 2))
        for sign in (-1, 1):
            tip = centre + QPointF(sign * 6, 0)
            painter.drawLine(tip, tip + QPointF(-sign * 3, -3))
            painter.drawLine(tip, tip + QPointF(-sign * 3, 3))
        self._paint_label(painter, "Original", QPointF(rect.left() + 8, rect.top() + 8), x)
        self._paint_label(painter, "Stylized", QPointF(x + 8, rect.top() + 8), rect.right())

    def _paint_label(self, painter: QPainter, text: str, at: QPointF, limit: float) -> None:
        metrics = painter.fontMetrics()
        box = QRectF(at, metrics.size(0, text)).adjusted(-6, -3, 6, 3)
        if box.right() > limit - 4:
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 120))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_side_by_side(self, painter: QPainter) -> None:
        rect = self.image_rect()
        half = (rect.width() - 8 * self.scale()) / 2
        left = QRectF(rect.left(), rect.top(), half, rect.height())
        right = QRectF(rect.right() - half, rect.top(), half, rect.height())
        if not self._before.isNull():
            painter.drawImage(left, self._before)
        painter.drawImage(right, self._after)
        self._paint_label(painter, "Original", left.topLeft() + QPointF(8, 8), left.right())
        self._paint_label(painter, "Stylized", right.topLeft() + QPointF(8, 8), right.right())

    # -- mouse -------------------------------------------------------------------------------
    def _near_split(self, pos: QPointF) -> bool:
        if self._mode is not ViewMode.SPLIT or self._after.isNull():
            return False
        rect = self.image_rect()
        return abs(pos.x() - (rect.left() + rect.width() * self.split)) <= HANDLE_GRAB_PX

    def set_split(self, fraction: float) -> None:
        self.split = min(1.0, max(0.0, fraction))
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._drag = "split" if self._near_split(pos) else "pan"
        self._last_pos = pos

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._drag == "split":
            rect = self.image_rect()
            self.set_split((pos.x() - rect.left()) / max(1.0, rect.width()))
        elif self._drag == "pan":
            if self._fit:
                self._scale, self._fit = self.scale(), False
            self._pan += pos - self._last_pos
            self.update()
        shape = Qt.CursorShape.SplitHCursor if self._near_split(pos) else Qt.CursorShape.ArrowCursor
        self.setCursor(shape)
        self._last_pos = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.zoom_fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self._after.isNull():
            return
        self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)
