"""Where things live: bundled resources, per-user styles, caches. No hard-coded relative paths."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

from engine.errors import StudioError

APP_NAME = "TinyStyle"
RESOURCES_PACKAGE = "tinystyle_resources"  # the repo's resources/ folder, as installed


def resources_dir() -> Path:
    """The bundled resources (styles, photos, icons): a source checkout, a wheel or a frozen app.

    Found through ``importlib.resources``, never relative to this file. Raises StudioError when
    the installation lacks them (a broken install must say so, not look empty).
    """
    try:
        root = Path(str(resources.files(RESOURCES_PACKAGE)))
    except ModuleNotFoundError:
        root = None
    if root is None or not (root / "styles").is_dir():
        raise StudioError(
            f"the bundled styles and photos ({RESOURCES_PACKAGE}) are missing from this install",
            hint="reinstall TinyStyle Studio (pip install --force-reinstall tinystyle-studio)")
    return root


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
