"""Where things live: bundled resources, per-user styles, caches. No hard-coded relative paths."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "TinyStyle"


def resources_dir() -> Path:
    """The bundled ``resources/`` folder (styles, photos, icons) next to the packages."""
    return Path(__file__).resolve().parents[2] / "resources"


def bundled_styles_dir() -> Path:
    return resources_dir() / "styles"


def bundled_photos_dir() -> Path:
    """The default training and demo photo set."""
    return resources_dir() / "photos"


def user_data_dir() -> Path:
    """Per-user data (user styles, training runs). ``TINYSTYLE_HOME`` overrides it (tests)."""
    override = os.environ.get("TINYSTYLE_HOME")
    return Path(override) / "data" if override else Path(platformdirs.user_data_dir(APP_NAME))


def user_styles_dir() -> Path:
    return user_data_dir() / "styles"


def user_runs_dir() -> Path:
    """Training runs: checkpoints, logs and previews, one folder per style name."""
    return user_data_dir() / "runs"


def user_cache_dir() -> Path:
    """Caches that can be rebuilt (the converted VGG weights).

    ``TINYSTYLE_CACHE`` overrides it, else ``TINYSTYLE_HOME``/cache (tests share one cache).
    """
    if os.environ.get("TINYSTYLE_CACHE"):
        return Path(os.environ["TINYSTYLE_CACHE"])
    override = os.environ.get("TINYSTYLE_HOME")
    return Path(override) / "cache" if override else Path(platformdirs.user_cache_dir(APP_NAME))
