"""The QApplication: its names (settings live under them), style and stylesheet.

Shared by start-up (``studio.app``) and the self-test, which builds the same application.
"""

from __future__ import annotations

from importlib import resources

from PySide6.QtWidgets import QApplication

ORGANIZATION, APPLICATION = "TinyStyle", "TinyStyle Studio"


def stylesheet() -> str:
    """The light theme, loaded as package data (never by a relative path)."""
    return resources.files("studio").joinpath("studio.qss").read_text(encoding="utf-8")


def create_app(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setStyle("Fusion")  # the same look on every platform; the stylesheet refines it
    app.setStyleSheet(stylesheet())
    return app
