"""Which iOS a Core ML model needs, read from the written file rather than assumed.

The converter raises the specification version when a layer needs it (the default network's
pixel shuffle is spec 5, iOS 14), so any claim about the minimum iOS must come from the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import ExportError

# Spec 1 and 2 came with iOS 11 and 11.2; from spec 3 (iOS 12) each iOS added one version.
_EARLY_IOS = {1: "11", 2: "11.2"}


def minimum_ios(spec_version: int) -> str:
    """The first iOS that runs Core ML specification ``spec_version``: 3 -> "12", 5 -> "14"."""
    if spec_version < 1:
        raise ValueError(f"Core ML specification version {spec_version} does not exist")
    return _EARLY_IOS.get(spec_version, str(spec_version + 9))


def spec_version(model_path: str | os.PathLike) -> int:
    """The specification version stored in a ``.mlmodel`` or ``.mlpackage``."""
    from coremltools.models.utils import load_spec

    try:
        return int(load_spec(str(model_path)).specificationVersion)
    except Exception as exc:  # coremltools raises many types for an unreadable file
        raise ExportError(f"{model_path}: not a readable Core ML model ({exc})") from exc


def model_minimum_ios(model_path: str | os.PathLike) -> str:
    """The minimum iOS of a Core ML model file, or of the one model in an iOS bundle folder."""
    path = Path(model_path)
    if path.is_dir() and path.suffix != ".mlpackage":
        models = sorted(path.glob("*.mlmodel")) + sorted(path.glob("*.mlpackage"))
        if not models:
            raise ExportError(f"{path}: no Core ML model in this folder")
        path = models[0]
    return minimum_ios(spec_version(path))
