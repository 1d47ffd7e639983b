"""One way to tell the user something went wrong: ``ErrorReporter.show_error``.

Messages are non-modal (``QMessageBox.open``), so no worker and no test ever waits on a nested
event loop. Every message is also emitted as ``errorShown`` (tests observe it) and logged.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from engine.errors import StudioError

log = logging.getLogger(__name__)


class ErrorReporter(QObject):
    """Shows errors as non-modal message boxes over ``parent`` and announces them."""

    errorShown = Signal(str, str)  # message, hint

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.last_box: QMessageBox | None = None

    def show_error(self, error: BaseException | str, *, title: str = "Something went wrong",
                   details: str = "") -> QMessageBox:
        """Show ``error`` (a StudioError's message and hint, or any text) without blocking."""
        if isinstance(error, StudioError):
            message, hint = error.message, error.hint or ""
        else:
            message, hint = str(error), ""
        log.warning("%s%s", message, f" ({hint})" if hint else "")
        box = QMessageBox(QMessageBox.Icon.Warning, title, message,
                          QMessageBox.StandardButton.Ok, self._parent)
        box.setObjectName("errorBox")
        if hint:
            box.setInformativeText(hint)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_box = box
        self.errorShown.emit(message, hint)
        return box

    def install_excepthook(self) -> None:
        """Route unexpected exceptions to the log and a dialog instead of killing the app."""
        sys.excepthook = self._excepthook

    def _excepthook(self, kind: type[BaseException], exc: BaseException,
                    tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        log.error("unexpected error\n%s", text)
        self.show_error(f"Unexpected error: {type(exc).__name__}: {exc}",
                        title="Unexpected error", details=text)
