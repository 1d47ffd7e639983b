"""Small icons drawn with QPainter (no image files to ship) plus QStyle standard icons."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

ACCENT = QColor("#3d6fd8")


def standard(name: str) -> QIcon:
    """A QStyle standard icon by its short name, e.g. ``"DialogSaveButton"``."""
    return QApplication.style().standardIcon(getattr(QStyle.StandardPixmap, f"SP_{name}"))


def palette_icon(size: int = 64, color: QColor = ACCENT) -> QPixmap:
    """A painter's palette: the app icon and the thumbnail of styles without a painting."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64
    path = QPainterPath()
    path.addEllipse(QRectF(6 * s, 10 * s, 52 * s, 44 * s))
    hole = QPainterPath()
    hole.addEllipse(QRectF(38 * s, 36 * s, 10 * s, 10 * s))
    p.fillPath(path.subtracted(hole), QColor("#e9dcc3"))
    p.setPen(QPen(QColor("#9c8a6a"), 1.5 * s))
    p.drawPath(path.subtracted(hole))
    dots = [("#d8453b", 18, 24), ("#f0b429", 30, 18), ("#2f9e6e", 44, 22), (color.name(), 20, 38)]
    for colour, x, y in dots:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(colour))
        p.drawEllipse(QPointF(x * s, y * s), 5 * s, 5 * s)
    p.end()
    return pix


def app_icon() -> QIcon:
    return QIcon(palette_icon(128))


def rounded_thumbnail(image: QImage, size: int) -> QPixmap:
    """Centre-crop ``image`` to a square and round its corners, for the gallery."""
    side = min(image.width(), image.height())
    crop = image.copy((image.width() - side) // 2, (image.height() - side) // 2, side, side)
    scaled = crop.scaled(size, size, Qt.AspectRatioMode.IgnoreAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    clip = QPainterPath()
    clip.addRoundedRect(QRectF(0, 0, size, size), size * 0.12, size * 0.12)
    p.setClipPath(clip)
    p.drawImage(0, 0, scaled)
    p.end()
    return pix
