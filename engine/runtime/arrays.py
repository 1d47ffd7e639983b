"""Image arrays <-> network tensors, and padding to the sizes a network accepts.

Shared by whole-image runs, tiles and webcam frames: uint8 (H, W, 3) RGB on our side,
float32 (1, 3, H, W) 0..255 on the network's.
"""

from __future__ import annotations

import numpy as np

MIN_SIDE = 8  # px; reflection padding at 1/4 resolution needs at least 2 pixels there
BT601_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # RGB -> Y weights, as cv2's RGB2GRAY


def pad_to_multiple(rgb: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad bottom and right up to a multiple of ``multiple`` (and at least MIN_SIDE)."""
    height, width = rgb.shape[:2]
    pad_h = max(round_up(height, multiple), MIN_SIDE) - height
    pad_w = max(round_up(width, multiple), MIN_SIDE) - width
    if not pad_h and not pad_w:
        return rgb
    return np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")


def to_nchw(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (1, 3, H, W), one copy."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)


def to_hwc(out: np.ndarray) -> np.ndarray:
    """float32 (1, 3, H, W) -> (H, W, 3) view."""
    return out[0].transpose(1, 2, 0)


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def round_down(value: int, multiple: int) -> int:
    """The largest multiple not above ``value``, but never below ``multiple`` itself."""
    return max(multiple, value // multiple * multiple)
