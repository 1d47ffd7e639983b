"""Every built-in style ships complete and really stylizes (issue: built-in style library)."""

from __future__ import annotations

import tomllib

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.io import paths
from engine.io.model_files import read_card
from engine.runtime.stylizer import Stylizer
from engine.styles import list_styles
from engine.training import artefacts, dark_guard_fit

RECIPES = sorted((paths.bundled_styles_dir() / "recipes").glob("*.toml"))
MAX_MODEL_BYTES = 64 * 1024


def test_every_recipe_has_a_shipped_model_and_thumbnail():
    assert len(RECIPES) >= 10
    for recipe in RECIPES:
        model = paths.bundled_styles_dir() / f"{recipe.stem}.onnx"
        assert model.is_file(), f"{recipe.name} has no model: run scripts/retrain_styles.py"
        assert model.stat().st_size <= MAX_MODEL_BYTES
        assert model.with_suffix(".jpg").is_file()


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_card_matches_recipe(recipe):
    with open(recipe, "rb") as f:
        painting = tomllib.load(f)["painting"]
    card = read_card(paths.bundled_styles_dir() / f"{recipe.stem}.onnx")
    assert card.name == recipe.stem
    assert (card.title, card.artist, card.year) == (
        painting["title"], painting["artist"], painting["year"])
    assert painting["image_licence"] in card.painting_source
    assert card.weights > 0 and card.steps > 0 and card.preset


@pytest.fixture(scope="module")
def photo_640x480() -> np.ndarray:
    photo = paths.bundled_photos_dir() / "mvtb-notre-dame.jpg"
    return np.asarray(Image.open(photo).convert("RGB").resize((640, 480)))


@pytest.mark.parametrize("style", [s for s in list_styles() if s.bundled], ids=lambda s: s.name)
def test_stylizes_640x480_without_identity_or_flat_output(style, photo_640x480):
    out = Stylizer(style.path, threads=1).stylize(photo_640x480)
    assert out.shape == photo_640x480.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(np.float32) - photo_640x480.astype(np.float32)).mean()
    assert diff > 10, f"{style.name} is close to the identity (mean abs diff {diff:.1f})"
    # Flat = no picture left: the luma barely varies. One channel may: Mona Lisa's umber
    # palette has almost no blue anywhere (blue std ~10 of luma's ~50).
    luma = out.reshape(-1, 3).astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    assert luma.std() > 10, f"{style.name} is close to a flat colour (luma std {luma.std():.1f})"


@pytest.fixture(scope="module")
def photos_384() -> list[np.ndarray]:
    """Eight bundled photos spread over the set, short side 384 (the judge's size)."""
    files = sorted(paths.bundled_photos_dir().glob("*.jpg"))
    photos = []
    for file in files[:: max(1, len(files) // 8)][:8]:
        photos.append(_short_side_384(np.asarray(Image.open(file).convert("RGB"))))
    return photos


def _short_side_384(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` with its short side at the judge's 384 px."""
    scale = 384 / min(rgb.shape[:2])
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


# Known, measured on these 8 photos: none since session 16 (Mona Lisa's lines at the top, +20,
# and bottom, -24 grey levels, went with edge weight 10 in its recipe). A style listed here is
# expected to fail; strict: the test says when a retrain fixes it.
EDGE_OR_GRID_KNOWN: set[str] = set()


@pytest.mark.parametrize("style", [
    pytest.param(s, marks=pytest.mark.xfail(s.name in EDGE_OR_GRID_KNOWN, strict=True,
                                            reason="known edge line or grid, see above"))
    for s in list_styles() if s.bundled], ids=lambda s: s.name)
def test_no_line_along_an_edge_and_no_4px_grid(style, photos_384):
    """The artefacts a training stage can add unseen at preview size (issue #18): a 1-2 px
    line along one edge (the patch stage drew one along the top on 11 of 20 photos) and the
    4-px grid. At most one photo of eight may show each."""
    stylizer = Stylizer(style.path, threads=1)
    lines, grids = [], []
    for photo in photos_384:
        out = stylizer.stylize(photo)
        sides = artefacts.edge_lines(out, photo)
        lines += [f"{side} {v:+.0f}" for side, v in sides.items() if artefacts.fired("edge_", v)]
        grid = artefacts.grid_energy(out) - artefacts.grid_energy(photo)
        grids += [f"{grid:.2f}"] if artefacts.fired("grid", grid) else []
    assert len(lines) <= 1, f"{style.name}: edge lines (grey levels) {lines}"
    assert len(grids) <= 1, f"{style.name}: 4-px grid (grey levels) {grids}"


@pytest.fixture(scope="module")
def dark_photos() -> list[np.ndarray]:
    """The bundled photos with large near-black areas (5-60% of pixels), at their own size."""
    return dark_guard_fit.dark_photos()


@pytest.mark.parametrize("style", [s for s in list_styles() if s.bundled], ids=lambda s: s.name)
def test_near_black_stays_dark(style, dark_photos):
    """Issue #18: near-black areas lifted to a flat mid-tone (66-110 grey levels seen before
    the guard). On average over the dark photos, the lift stays under the eval check's bar.
    The guard's allowance was fitted on these photos; held-out ones are checked below."""
    stylizer = Stylizer(style.path, threads=1)
    lifts = [artefacts.black_lift(stylizer.stylize(photo), photo) for photo in dark_photos]
    assert len(lifts) >= 20
    bar = artefacts.THRESHOLDS["black_lift"]
    assert np.mean(lifts) < bar, f"{style.name}: near-black lifted by {np.mean(lifts):.0f}"


def test_near_black_stays_dark_on_photos_it_was_not_fitted_on(shared_data):
    """The same check on dark photos of the shared set that are not bundled (short side 384,
    as the judge sees them): the fitted allowances hold beyond the photos they were fitted on."""
    bundled = {p.name for p in paths.bundled_photos_dir().glob("*.jpg")}
    photos = []
    for file in sorted((shared_data / "content").glob("*.jpg")):
        if len(photos) == 24:
            break
        if file.name in bundled:
            continue
        rgb = _short_side_384(np.asarray(Image.open(file).convert("RGB")))
        low, high = dark_guard_fit.DARK_SHARE
        if low < (artefacts.luma(rgb) < artefacts.DARK).mean() < high:
            photos.append(rgb)
    assert len(photos) == 24
    bar = artefacts.THRESHOLDS["black_lift"]
    over = {}
    for style in (s for s in list_styles() if s.bundled):
        stylizer = Stylizer(style.path, threads=1)
        lift = np.mean([artefacts.black_lift(stylizer.stylize(p), p) for p in photos])
        if lift >= bar:
            over[style.name] = round(float(lift))
    assert not over, f"near-black lifted (mean grey levels): {over}"
