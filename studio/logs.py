"""Where the app logs: one file that start-up configures and error dialogs point to.

It sits at the bottom of the studio layers so the wizard and dialogs can name the log file
without importing ``studio.app`` (which imports the main window, which imports them).
"""

from __future__ import annotations

import logging
from pathlib import Path

from engine.io.paths import user_data_dir

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path() -> Path:
    """The app's log file; error dialogs point here."""
    return user_data_dir() / "studio.log"


def setup_logging() -> None:
    """Send the root logger to ``log_path()`` (the app has no console on most platforms)."""
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, filename=path, format=LOG_FORMAT)
