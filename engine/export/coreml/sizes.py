"""The image sizes an exported Core ML model accepts (shared by the converter and spec passes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import ExportError

MIN_SIDE, MAX_SIDE = 16, 8192  # px; Core ML image sides we accept in a size range


@dataclass(frozen=True)
class SizeRange:
    """Image sizes the exported model accepts: each side in ``min_side..max_side`` pixels."""

    min_side: int = 256  # px, smallest width or height
    max_side: int = 1920  # px, largest width or height (1080p frames fit either way round)
    default: tuple[int, int] = (640, 480)  # (width, height) Xcode shows and previews with

    def check(self, size_multiple: int, where: Path) -> None:
        """Raise ExportError unless every bound is a multiple of the network's size multiple."""
        sides = {"min_side": self.min_side, "max_side": self.max_side,
                 "default width": self.default[0], "default height": self.default[1]}
        bad = [f"{k} {v}" for k, v in sides.items() if v % size_multiple]
        if bad:
            raise ExportError(f"{where}: size range {', '.join(bad)} is not a multiple of "
                              f"{size_multiple}", hint=f"use multiples of {size_multiple}")
        if not MIN_SIDE <= self.min_side <= self.max_side <= MAX_SIDE:
            raise ExportError(f"{where}: size range {self.min_side}..{self.max_side} px is outside "
                              f"{MIN_SIDE}..{MAX_SIDE} px or reversed")
        if not all(self.min_side <= s <= self.max_side for s in self.default):
            raise ExportError(f"{where}: default size {self.default[0]}x{self.default[1]} is "
                              f"outside {self.min_side}..{self.max_side} px")
