"""Render icons/tinystyle-studio.svg to the PNG sizes desktops and PyInstaller ask for.

The PNGs are committed (builds need no SVG renderer); rerun this after editing the SVG:
    .venv/bin/python packaging/make_icons.py
PyInstaller turns the 256 px PNG into the Windows .ico and the 512 px one into the macOS .icns.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent / "icons"
NAME = "tinystyle-studio"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)  # the hicolor theme's usual sizes


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv[:1] + ["-platform", "offscreen"])
    renderer = QSvgRenderer(str(ICONS / f"{NAME}.svg"))
    if not renderer.isValid():
        print(f"cannot render {ICONS / f'{NAME}.svg'}", file=sys.stderr)
        return 1
    for size in SIZES:
        path = ICONS / f"{NAME}-{size}.png"
        if not render(renderer, size).save(str(path)):
            print(f"cannot write {path}", file=sys.stderr)
            return 1
        print(path.relative_to(ICONS.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
