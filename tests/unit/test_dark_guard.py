"""The near-black guard (issue #18): what it changes, what it leaves alone, where it applies."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.errors import ModelLoadError
from engine.io.model_files import open_onnx, read_card
from engine.runtime.dark_guard import EDGE_SIGMA, FADE, DarkGuard
from engine.runtime.live import stylize_frame
from engine.runtime.stylizer import Stylizer
from engine.styles import find_style
from engine.training import artefacts, dark_guard_fit
from tests.style_models import export_random


@pytest.fixture(scope="module")
def dark_photos() -> list[np.ndarray]:
    return dark_guard_fit.dark_photos()[:6]


@pytest.fixture(scope="module")
def composition() -> tuple[Stylizer, Stylizer]:
    """Composition VIII, which lifts near-black the most: guarded as shipped, and unguarded."""
    path = find_style("composition-viii").path
    return Stylizer(path, threads=1), Stylizer(path, threads=1, dark_guard=False)


def test_near_black_is_brought_down_and_the_rest_left_exactly(composition, dark_photos):
    guarded, raw = composition
    guard = DarkGuard.of_card(guarded.card)
    assert guard is not None and guard.max_lift == 16
    lifts = []
    for photo in dark_photos:
        out = raw.stylize(photo)
        kept = guard(out, photo)
        lifts.append(artefacts.black_lift(kept, photo))
        assert lifts[-1] < artefacts.black_lift(out, photo) / 2  # the network's own: 79-145
        # 4 px or more inside areas brighter than FADE: exactly the network's output
        near = cv2.GaussianBlur(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), (0, 0), EDGE_SIGMA)
        bright = cv2.erode((near >= FADE).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        assert bright.mean() > 0.1 and np.array_equal(kept[bright], out[bright])
        # float network output (photos) and uint8 (live frames) are guarded alike
        as_float = guard(out.astype(np.float32), photo)
        assert as_float.dtype == np.float32 and np.abs(as_float - kept).max() <= 1
    assert np.mean(lifts) < artefacts.THRESHOLDS["black_lift"]  # small dark areas keep more


def test_a_photo_without_dark_areas_is_returned_untouched(composition, bundled_photos):
    guarded, _ = composition
    photo = cv2.resize(np.asarray(Image.open(bundled_photos[0]).convert("RGB")), (160, 120))
    photo = np.maximum(photo, 90)  # nothing near-black
    out = guarded.stylize(photo)
    assert guarded.keep_darks(out, photo) is out


def test_photos_and_live_frames_are_guarded_alike(composition, dark_photos):
    guarded, raw = composition
    photo = dark_photos[0]
    frame = np.ascontiguousarray(photo[:photo.shape[0] // 4 * 4, :photo.shape[1] // 4 * 4])
    live = stylize_frame(guarded, frame, max_size=None)
    # the fast path rounds the network's output before the guard, photos after it
    assert np.abs(live.astype(int) - guarded.stylize(frame)).max() <= 2
    assert artefacts.black_lift(live, frame) < artefacts.black_lift(raw.run_frame(frame), frame)
    kept = stylize_frame(guarded, frame, max_size=None, preserve_colors=True)  # "keep colours"
    assert artefacts.black_lift(kept, frame) < artefacts.THRESHOLDS["black_lift"]


def test_the_fit_guards_only_styles_that_lift(composition):
    mona = find_style("mona-lisa").path
    painting = np.asarray(Image.open(mona.with_suffix(".jpg")).convert("RGB"))
    assert dark_guard_fit.fit_dark_guard(mona, painting) == ("", 0)
    guarded, _ = composition
    painting = np.asarray(Image.open(guarded.path.with_suffix(".jpg")).convert("RGB"))
    colour, allowance = dark_guard_fit.fit_dark_guard(guarded.path, painting)
    assert allowance == guarded.card.dark_lift
    # the thumbnail's darkest colour is close to the full painting's the card was fitted on
    assert np.abs(np.subtract(DarkGuard.parse(colour, 0).colour,
                              DarkGuard.parse(guarded.card.dark_colour, 0).colour)).max() <= 12


def test_the_card_carries_the_guard_and_a_bad_colour_is_refused(tmp_path):
    path = export_random(tmp_path / "m.onnx", dark_colour="#102030", dark_lift=24)
    card = read_card(path)
    assert (card.dark_colour, card.dark_lift) == ("#102030", 24)
    assert DarkGuard.of_card(card) == DarkGuard((16.0, 32.0, 48.0), 24.0)
    bad = export_random(tmp_path / "bad.onnx", dark_colour="navy", dark_lift=24)
    with pytest.raises(ModelLoadError, match="dark_colour"):
        open_onnx(bad, ours=True)
    plain = read_card(export_random(tmp_path / "plain.onnx"))
    assert DarkGuard.of_card(plain) is None
