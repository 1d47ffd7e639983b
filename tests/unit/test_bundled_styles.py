"""Every built-in style ships complete and really stylizes (issue: built-in style library)."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from PIL import Image

from engine.io import paths
from engine.io.model_files import read_card
from engine.runtime.stylizer import Stylizer
from engine.styles import list_styles

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
