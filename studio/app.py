"""Start-up only: logging, the QApplication with its stylesheet, settings, the main window."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QSettings

from studio.application import APPLICATION, ORGANIZATION, create_app
from studio.logs import setup_logging
from studio.workers.thread import wait_for_parked

EXIT_WAIT_MS = 30_000  # longest work between two cancel checks (Core ML conversion ~16 s) + slack

log = logging.getLogger(__name__)


def main() -> int:
    if "--self-test" in sys.argv[1:]:  # proves a (frozen) build works; see studio/self_test.py
        from studio.self_test import run_self_test

        return run_self_test()
    setup_logging()
    app = create_app(sys.argv)
    from studio.main_window import MainWindow

    window = MainWindow(QSettings(ORGANIZATION, APPLICATION))
    window.errors.install_excepthook()
    window.show()
    from engine.logs import quiet_onnxruntime

    quiet_onnxruntime()  # no telemetry; after show(), so loading ORT does not delay the window
    code = app.exec()
    if not wait_for_parked(EXIT_WAIT_MS):
        # Destroying a running QThread aborts; exit without destructors instead. Writes are
        # atomic, so the unfinished job leaves no partial file behind.
        log.error("background work still running after %d ms; exiting anyway", EXIT_WAIT_MS)
        logging.shutdown()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
