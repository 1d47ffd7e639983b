"""The only place that converts between numpy images and QImage. Every conversion copies.

Copies matter: a QImage built on a numpy buffer dangles once the array is freed, and an array
viewing a QImage's bits breaks when Qt detaches it. Images are uint8 HxWx3 RGB.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_qimage(rgb: np.ndarray) -> QImage:
    """uint8 (H, W, 3) RGB -> an owning QImage (Format_RGB888). Safe to build off the UI thread."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def from_qimage(image: QImage) -> np.ndarray:
    """Any QImage -> uint8 (H, W, 3) RGB ndarray (alpha dropped), owning its memory."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * h)
    return buf.reshape(h, stride)[:, : 3 * w].reshape(h, w, 3).copy()
