"""Shared fixtures: an isolated per-user folder, real photos, paths to shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own user data/cache folder, so nothing leaks between tests.

    The converted VGG weights are cached once per session (they take seconds to convert).
    """
    home = tmp_path_factory.mktemp("home")
    cache = tmp_path_factory.getbasetemp() / "shared-cache"
    monkeypatch.setenv("TINYSTYLE_HOME", str(home))
    monkeypatch.setenv("TINYSTYLE_CACHE", str(cache))
    return home


@pytest.fixture
def shared_data() -> Path:
    """The curated third-party data set (CI has it); skip with a reason where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data set not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def bundled_photos() -> list[Path]:
    """The photo set that ships in resources/photos (always present)."""
    photos = sorted((REPO / "resources" / "photos").glob("*.jpg"))
    if not photos:
        pytest.fail("resources/photos is empty: the bundled photo set is missing")
    return photos
