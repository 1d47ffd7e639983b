"""Gallery jobs: list the styles with their thumbnails, import a dropped model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from studio.workers.job_worker import Job, JobContext

if TYPE_CHECKING:
    from engine.styles import Style

THUMBNAIL_PX = 128  # thumbnails are decoded at this size off the UI thread


@dataclass
class StyleEntry:
    style: Style
    thumbnail: QImage  # null when the style has none


def _thumbnail(path: Path | None) -> QImage:
    if path is None or not Path(path).is_file():
        return QImage()
    image = QImage(str(path))
    if image.isNull():
        return image
    return image.scaled(THUMBNAIL_PX * 2, THUMBNAIL_PX * 2,
                        Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                        Qt.TransformationMode.SmoothTransformation)


def list_styles_job(ctx: JobContext) -> list[StyleEntry]:
    """Every bundled and user style, thumbnails decoded (QImage is safe off the UI thread)."""
    from engine.styles import list_styles

    return [StyleEntry(style, _thumbnail(style.thumbnail)) for style in list_styles()]


def import_style_job(path: Path) -> Job:
    def job(ctx: JobContext) -> Style:
        from engine.styles import import_user_style

        return import_user_style(path)

    return job
