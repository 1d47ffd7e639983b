"""The artefact checks of issue #18: each fires on a photo given that artefact and stays quiet
on the clean photo and on an honest colour grade of it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.io.images import load_image
from engine.training import artefacts as A
from engine.training.evaluate import load_photos


def _photo(shared_data, name: str) -> np.ndarray:
    return load_photos([shared_data / "content" / f"{name}.jpg"], 256)[0]


@pytest.fixture
def face(shared_data) -> np.ndarray:
    """Skin, a near-black coat and red stripes."""
    return _photo(shared_data, "matplotlib-grace-hopper")


@pytest.fixture
def sky(shared_data) -> np.ndarray:
    """A smooth blue sky over a tower."""
    return _photo(shared_data, "gcompris-details-tour-eiffel")


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _grade(rgb: np.ndarray) -> np.ndarray:
    """An honest, mild colour grade: warmer, a little more contrast."""
    return _u8((rgb.astype(np.float32) - 128) * 1.1 + 128 + np.array([6, 0, -6]))


def test_grid_energy_sees_a_4px_pattern_and_not_the_photo(face):
    pattern = np.tile(np.array([[1.5, -1.5, 1.5, -1.5], [-1.5, 1.5, -1.5, 1.5],
                                [1.5, -1.5, 1.5, -1.5], [0, 0, 0, 0]]), (100, 100))
    h, w = face.shape[:2]
    gridded = _u8(face.astype(np.float32) + pattern[:h, :w, None])
    assert A.grid_energy(face) < 0.4
    assert A.grid_energy(_grade(face)) - A.grid_energy(face) < A.THRESHOLDS["grid"]
    assert A.grid_energy(gridded) - A.grid_energy(face) > A.THRESHOLDS["grid"]
    # remove_grid takes the pattern out of the painted targets and leaves the picture
    cleaned = A.remove_grid(gridded)
    assert A.grid_energy(cleaned) < 0.4
    assert np.abs(cleaned.astype(np.float32) - face).mean() < 1.5


def test_sky_ovals_see_a_painted_blob_not_a_grade(sky):
    h, w = sky.shape[:2]
    mask = A.smooth_mask(sky)
    assert mask.mean() > 0.2  # the sky is found
    ys, xs = np.nonzero(mask)
    cy, cx = int(np.median(ys)), int(np.median(xs))
    yy, xx = np.mgrid[:h, :w]
    blob = -45 * np.exp(-(((yy - cy) / (h / 8)) ** 2 + ((xx - cx) / (w / 5)) ** 2))
    oval = _u8(sky.astype(np.float32) + blob[..., None])
    assert A.sky_ovals(sky, sky) < 1
    assert A.sky_ovals(_grade(sky), sky) < A.THRESHOLDS["ovals"]
    assert A.sky_ovals(oval, sky) > A.THRESHOLDS["ovals"]


def test_black_lift_sees_near_black_turned_mid_tone(face):
    dark = A.luma(face) < A.DARK
    assert dark.mean() > 0.05  # the coat
    lifted = face.copy()
    lifted[dark] = 70
    assert abs(A.black_lift(_grade(face), face)) < A.THRESHOLDS["black_lift"]
    assert A.black_lift(lifted, face) > A.THRESHOLDS["black_lift"]


@pytest.mark.parametrize(("side", "index", "delta"), [("top", np.s_[:2], 79),
                                                      ("left", np.s_[:, :3], -63)])
def test_edge_lines_find_the_side_and_sign(face, side, index, delta):
    lined = face.astype(np.float32)
    lined[index] += delta
    found = A.edge_lines(_u8(lined), face)
    assert max(found, key=lambda k: abs(found[k])) == side
    assert np.sign(found[side]) == np.sign(delta) and A.fired(f"edge_{side}", found[side])
    assert not any(A.fired(f"edge_{k}", v) for k, v in A.edge_lines(_grade(face), face).items())


def _hue_rotated(rgb: np.ndarray, degrees: int) -> np.ndarray:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL)
    hsv[..., 0] = (hsv[..., 0].astype(int) + degrees * 256 // 360) % 256
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)


def test_skin_turned_blue_and_reds_lost_are_seen(face):
    assert A.skin_mask(face).mean() > 0.02 and A.red_kept(face, face) == 1.0
    blue = _hue_rotated(face, 180)
    assert A.skin_off(_grade(face), face) < A.THRESHOLDS["skin_off"]
    assert A.skin_off(blue, face) > A.THRESHOLDS["skin_off"]
    assert A.red_kept(_grade(face), face) > A.THRESHOLDS["red_kept"]
    assert A.red_kept(blue, face) < A.THRESHOLDS["red_kept"]


def test_a_washed_out_gold_tint_has_too_little_contrast(face, shared_data):
    painting = load_image(shared_data / "styles" / "van-gogh-starry-night.jpg").rgb
    y = A.luma(face)[..., None]
    gold = _u8(y.mean() + (y - y.mean()) * 0.35 + np.array([30, 15, -25]))
    checks = {k: A.photo_checks(out, face, A.contrast(painting))["contrast"]
              for k, out in (("grade", _grade(face)), ("gold", gold))}
    assert not A.fired("contrast", checks["grade"])
    assert A.fired("contrast", checks["gold"])


def test_look_difference_calls_a_brighter_copy_alike_and_a_recolour_not(face):
    brighter = _u8(face.astype(np.float32) + 25)
    assert A.look_difference(face, brighter) < A.THRESHOLDS["alike"]
    assert A.look_difference(face, _hue_rotated(face, 120)) > A.THRESHOLDS["alike"]


def test_every_check_is_quiet_on_the_photo_itself(face, sky):
    for photo in (face, sky):
        checks = A.photo_checks(photo, photo, A.contrast(photo))
        assert set(checks) == set(A.CHECKS)
        assert not [k for k, v in checks.items() if A.fired(k, v)]
