"""Checks for the artefacts issue #18 found on photos the styles never saw.

Each check compares a stylized photo with the photo itself, so what the photo already has (a
dark sky at the border, a black coat) does not count against the style. Values are in 8-bit
grey levels, degrees or fractions; ``THRESHOLDS`` says when one counts as "seen" (the issue's
cases sit well above them, the unstyled photos well below). Grid energy is measured at 1:1,
so run the model at the size it is used at and do not resize its output first.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.runtime.arrays import BT601_LUMA  # as the stylizer's colour transfer

GRID_PERIOD = 4  # px: the period of the dot/grid pattern (two stride-2 stages)
DARK = 25  # photo luma below this is "near black"
EDGE_ROWS = 3  # the outermost rows/columns where edge lines sit
EDGE_INNER = (4, 12)  # the rows they are compared with
THRESHOLDS = {  # a check fires above (or, for the "_kept"/contrast ones, below) this
    "grid": 0.4,  # grey levels of period-4 pattern beyond the photo's (photos: ~0.2 alone)
    "ovals": 18.0,  # grey levels of low-frequency luma deviation in smooth regions
    "black_lift": 40.0,  # grey levels added to near-black areas (<25 to a mid-tone >65)
    "edge_line": 20.0,  # grey levels of a line along one edge, beyond the photo's
    "skin_off": 0.5,  # fraction of skin-toned pixels turned blue/green
    "red_kept": 0.5,  # fraction of strong reds still red (fires below)
    "contrast": 0.6,  # luma std over min(photo's, painting's) (fires below)
    "alike": 13.0,  # look difference of two styles on the same photos (fires below)
}


def luma(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (H, W) luma, 0..255."""
    return rgb.astype(np.float32) @ BT601_LUMA


def grid_pattern(image: np.ndarray, period: int = GRID_PERIOD) -> np.ndarray:
    """The (period, period, ...) pattern that repeats every ``period`` px in both directions.

    The image minus its ``period``-wide box mean (which averages out exactly one period of such
    a pattern) is averaged over every position with the same (y mod period, x mod period): image
    content averages away, a fixed dot/grid pattern stamped on every tile remains. Float
    (H, W) or (H, W, C) in, zero-mean pattern of the same channels out.
    """
    high = image - cv2.blur(image, (period, period), borderType=cv2.BORDER_REFLECT)
    h, w = (s - s % period for s in high.shape[:2])
    shape = (h // period, period, w // period, period, *high.shape[2:])
    phases = high[:h, :w].reshape(shape).mean(axis=(0, 2))
    return phases - phases.mean(axis=(0, 1))


def grid_energy(rgb: np.ndarray, period: int = GRID_PERIOD) -> float:
    """RMS, in grey levels, of the luma's ``grid_pattern``."""
    return float(np.sqrt(np.square(grid_pattern(luma(rgb), period)).mean()))


def remove_grid(rgb: np.ndarray, period: int = GRID_PERIOD) -> np.ndarray:
    """uint8 (H, W, 3) with its ``grid_pattern`` (per channel) subtracted: strokes, which vary
    across the picture, stay; a pattern stamped on every period x period block goes."""
    x = rgb.astype(np.float32)
    pattern = grid_pattern(x, period)
    tiled = np.tile(pattern, (-(-x.shape[0] // period), -(-x.shape[1] // period), 1))
    return np.clip(x - tiled[:x.shape[0], :x.shape[1]], 0, 255).round().astype(np.uint8)


def _local_mean(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def smooth_mask(photo: np.ndarray) -> np.ndarray:
    """Where the photo is smooth (skies, walls): local luma std under 2.5 grey levels."""
    y = luma(photo)
    sigma = max(2.0, min(y.shape) / 96)
    var = _local_mean(y * y, sigma) - _local_mean(y, sigma) ** 2
    return var < 2.5**2


def sky_ovals(out: np.ndarray, photo: np.ndarray) -> float:
    """Large dark or light blobs the network paints into the photo's smooth regions.

    Both lumas are low-passed inside the smooth mask (sigma 1/16 of the short side, so strokes
    average away and only blobs of ~100 px and up remain); the output's is fitted to the
    photo's by a gain and offset (a colour grade is no oval) and the 98th percentile of the
    absolute residual is returned, in grey levels. 0 when under 5% of the photo is smooth.
    """
    mask = smooth_mask(photo)
    if mask.mean() < 0.05:
        return 0.0
    m = mask.astype(np.float32)
    sigma = min(mask.shape) / 16
    weight = _local_mean(m, sigma) + 1e-6
    lo_out = (_local_mean(luma(out) * m, sigma) / weight)[mask]
    lo_photo = (_local_mean(luma(photo) * m, sigma) / weight)[mask]
    design = np.stack([lo_photo, np.ones_like(lo_photo)], 1)
    coef, *_ = np.linalg.lstsq(design, lo_out, rcond=None)
    return float(np.percentile(np.abs(lo_out - design @ coef), 98))


def black_lift(out: np.ndarray, photo: np.ndarray, dark: float = DARK) -> float:
    """Grey levels the output adds to the photo's near-black areas (0 if under 0.5% of it)."""
    mask = luma(photo) < dark
    if mask.mean() < 0.005:
        return 0.0
    return float(luma(out)[mask].mean() - luma(photo)[mask].mean())


def edge_lines(out: np.ndarray, photo: np.ndarray) -> dict[str, float]:
    """Per side, the signed strength (grey levels) of a line along that edge.

    Each of the outermost EDGE_ROWS rows (columns) against the mean of rows 4..11 inward, in
    the output minus in the photo (a real horizon at the border cancels); the strongest row.
    """
    a, b = EDGE_INNER
    out_y, photo_y = luma(out), luma(photo)
    result = {}
    for side, (po, pp) in {
        "top": (out_y[:b].mean(1), photo_y[:b].mean(1)),
        "bottom": (out_y[::-1][:b].mean(1), photo_y[::-1][:b].mean(1)),
        "left": (out_y[:, :b].mean(0), photo_y[:, :b].mean(0)),
        "right": (out_y[:, ::-1][:, :b].mean(0), photo_y[:, ::-1][:, :b].mean(0)),
    }.items():
        dev = (po[:EDGE_ROWS] - po[a:b].mean()) - (pp[:EDGE_ROWS] - pp[a:b].mean())
        result[side] = float(dev[np.abs(dev).argmax()])
    return result


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees 0..360, saturation and value 0..1."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    return hsv[..., 0] * (360 / 256), hsv[..., 1] / 255, hsv[..., 2] / 255


def skin_mask(photo: np.ndarray) -> np.ndarray:
    """Skin-toned pixels (the usual YCbCr box: Cb 77..127, Cr 133..173, not too dark)."""
    ycc = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    return (y > 60) & (cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)


def skin_off(out: np.ndarray, photo: np.ndarray) -> float:
    """Fraction of the photo's skin-toned pixels that come out blue or green (hue 75..285
    degrees with some saturation); 0 when under 1% of the photo is skin-toned."""
    mask = skin_mask(photo)
    if mask.mean() < 0.01:
        return 0.0
    hue, sat, _ = _hsv(out)
    off = (hue > 75) & (hue < 285) & (sat > 0.15)
    return float(off[mask].mean())


def _red(rgb: np.ndarray, half_width: float, min_sat: float, min_val: float) -> np.ndarray:
    hue, sat, val = _hsv(rgb)
    return (np.minimum(hue, 360 - hue) < half_width) & (sat > min_sat) & (val > min_val)


def red_kept(out: np.ndarray, photo: np.ndarray) -> float:
    """Fraction of the photo's strong reds still red in the output; 1 when it has none."""
    mask = _red(photo, 20, 0.45, 0.3)
    if mask.mean() < 0.005:
        return 1.0
    return float(_red(out, 35, 0.25, 0.15)[mask].mean())


def contrast(rgb: np.ndarray) -> float:
    """Luma standard deviation in grey levels (the issue's washed-out Klimt: 23 vs 62)."""
    return float(luma(rgb).std())


def look(rgb: np.ndarray, short_side: int = 64) -> np.ndarray:
    """A small CIELAB thumbnail: what two styles share at a glance (palette, light, layout)."""
    h, w = rgb.shape[:2]
    scale = short_side / min(h, w)
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)


def look_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIE76 colour difference of two outputs' thumbnails (same photo, same size), less
    their difference in mean lightness: two styles that differ only in exposure look alike to
    the eye (built-ins: Benzaiten vs Harvesters 7, Mona Lisa vs Pere Tanguy 12.5, most
    pairs 15-45)."""
    x, y = look(a), look(b)
    x[..., 0] -= x[..., 0].mean() - y[..., 0].mean()
    return float(np.linalg.norm(x - y, axis=-1).mean())


CHECKS = ("grid", "ovals", "black_lift", "edge_top", "edge_bottom", "edge_left", "edge_right",
          "skin_off", "red_kept", "contrast")  # the keys of ``photo_checks``


def photo_checks(out: np.ndarray, photo: np.ndarray, painting_contrast: float,
                 ) -> dict[str, float]:
    """Every per-photo check of one output: the numbers ``evaluate`` averages and counts.

    ``contrast`` is the output's luma contrast over the lower of the photo's and the
    painting's (a washed-out tint is below both)."""
    return {
        "grid": grid_energy(out) - grid_energy(photo),
        "ovals": sky_ovals(out, photo),
        "black_lift": black_lift(out, photo),
        **{f"edge_{side}": v for side, v in edge_lines(out, photo).items()},
        "skin_off": skin_off(out, photo),
        "red_kept": red_kept(out, photo),
        "contrast": contrast(out) / max(1.0, min(contrast(photo), painting_contrast)),
    }


def fired(name: str, value: float) -> bool:
    """Whether a per-photo check value (a ``photo_checks`` key) counts as the artefact seen."""
    if name.startswith("edge_"):
        return abs(value) > THRESHOLDS["edge_line"]
    if name in ("red_kept", "contrast"):
        return value < THRESHOLDS[name]
    return value > THRESHOLDS[name]
