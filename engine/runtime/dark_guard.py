"""Near-black areas kept dark: a guard after the network, for styles whose card asks for it.

From a painting with few darks (Composition VIII's cream ground, Benzaiten's snow) the
networks paint a photo's black coat or night sky as a flat mid-tone, 40-110 grey levels over
the photo (issue #18). Training cannot remove it: the stem's instance norm takes away a crop's
level, so to the network an all-dark crop looks like any other, and targets kept dark were
learned as a blur (docs/strokes/README.md, "Near-black areas"). So the output is guarded: where
the photo is near-black, the output's local level may exceed the photo's by at most the card's
``dark_lift`` grey levels; above that the output is blended towards the painting's own darkest
colour (``dark_colour``), which keeps its strokes (scaled down) and its hue (Great Wave's coat
goes Prussian blue, not muddy brown). Nothing changes where the photo is brighter than FADE.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.card import ModelCard, rgb_of_hex
from engine.runtime.arrays import BT601_LUMA

DARK, FADE = 25.0, 64.0  # photo luma: the guard in full below DARK, none from FADE up
LEVEL_SIGMA = 4.0  # px: a region's level, wide enough that strokes average out in it
EDGE_SIGMA = 1.5  # px: where the guard applies follows the photo's edges (a dark suit alone)
LEVEL_SHRINK = 4  # levels are smooth: computed at a quarter of the size (~5x cheaper)
DARKEST_SHARE = 3.0  # percent: the painting's darkest pixels, whose median is its dark colour
# photo luma (0..255) -> how much of the guard applies there
_WEIGHT_OF = np.clip((FADE - np.arange(256, dtype=np.float32)) / (FADE - DARK), 0, 1)


def painting_dark_colour(painting: np.ndarray) -> str:
    """The colour a style's dark areas are blended towards, as '#rrggbb': the median of the
    painting's (uint8 RGB) darkest DARKEST_SHARE percent."""
    pixels = painting.reshape(-1, 3)
    y = pixels.astype(np.float32) @ BT601_LUMA
    darkest = pixels[y <= np.percentile(y, DARKEST_SHARE)]
    return "#" + "".join(f"{int(c):02x}" for c in np.median(darkest, axis=0).round())


@dataclass(frozen=True)
class DarkGuard:
    """``__call__(out, photo)``: ``out`` with ``photo``'s near-black areas kept within
    ``max_lift`` grey levels of it, the excess blended towards ``colour`` (RGB 0..255)."""

    colour: tuple[float, float, float]
    max_lift: float

    @classmethod
    def parse(cls, colour: str, max_lift: float) -> DarkGuard:
        """From a card's '#rrggbb' and grey levels; ValueError if the colour is not one."""
        r, g, b = rgb_of_hex(colour)
        return cls((float(r), float(g), float(b)), float(max_lift))

    @classmethod
    def of_card(cls, card: ModelCard) -> DarkGuard | None:
        """The guard a model's card asks for; None if it asks for none (foreign models, and
        ours trained before the guard; ``check_card`` has checked the colour)."""
        return cls.parse(card.dark_colour, card.dark_lift) if card.dark_colour else None

    def __call__(self, out: np.ndarray, photo: np.ndarray) -> np.ndarray:
        """``out`` (uint8 or float32 (H, W, 3) 0..255) stylized from the uint8 ``photo`` of the
        same size: a new array of the same type, or ``out`` itself where nothing changes."""
        photo_y = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
        height, width = photo_y.shape
        half = (max(1, width // 2), max(1, height // 2))  # where it applies: at half size
        near = cv2.GaussianBlur(cv2.resize(photo_y, half, interpolation=cv2.INTER_AREA),
                                (0, 0), EDGE_SIGMA / 2)
        if cv2.minMaxLoc(near)[0] >= FADE:
            return out
        out = np.ascontiguousarray(out)  # live frames are planar underneath: one copy, not six
        level = _level(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY))
        # share of (out - colour) to take away so that the level ends max_lift over the photo's
        excess = np.maximum(level - _level(photo_y) - self.max_lift, 0)
        if cv2.minMaxLoc(excess)[1] <= 0:
            return out
        share = excess / np.maximum(level - float(np.dot(self.colour, BT601_LUMA)), 1.0)
        cut = cv2.multiply(cv2.resize(share, half, interpolation=cv2.INTER_LINEAR),
                           cv2.LUT(near, _WEIGHT_OF))
        cut = cv2.min(cv2.resize(cut, (width, height), interpolation=cv2.INTER_LINEAR), 1.0)
        rows = np.flatnonzero(cut.max(axis=1) > 1e-3)
        if not rows.size:
            return out
        cols = np.flatnonzero(cut[rows[0]:rows[-1] + 1].max(axis=0) > 1e-3)
        box = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # only the part that changes
        part, cut = out[box], np.ascontiguousarray(cut[box])
        colour = cv2.add(np.zeros_like(part), (*self.colour, 0.0))  # ~10x numpy's broadcast
        result = out.copy()
        result[box] = cv2.blendLinear(part, colour, 1 - cut, cut)
        return result


def _level(gray: np.ndarray) -> np.ndarray:
    """Gaussian local mean (sigma LEVEL_SIGMA) of an (H, W) image, float32 at 1/LEVEL_SHRINK."""
    h, w = gray.shape
    small = cv2.resize(gray, (max(1, w // LEVEL_SHRINK), max(1, h // LEVEL_SHRINK)),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.GaussianBlur(small, (0, 0), LEVEL_SIGMA / LEVEL_SHRINK)
