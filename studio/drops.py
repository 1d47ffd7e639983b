"""Dropped or pasted URLs -> local file paths: the one helper every drop target uses."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QUrl

MODEL_SUFFIXES = (".onnx",)  # style models the gallery imports


def local_paths(urls: Iterable[QUrl], suffixes: Iterable[str] | None = None) -> list[Path]:
    """The local files among ``urls`` (web URLs are skipped), in drop order.

    ``suffixes`` (lower case, with the dot) keeps only matching files, compared
    case-insensitively; None keeps every local path, folders included.
    """
    wanted = None if suffixes is None else tuple(suffixes)
    paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
    return [p for p in paths if wanted is None or p.suffix.lower() in wanted]
