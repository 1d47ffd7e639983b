"""The near-black allowance each style's ``DarkGuard`` gets, fitted once after training.

Networks lift a photo's near-black areas by very different amounts (Mona Lisa's 2 grey levels
on average, Composition VIII's 110), and the guard costs some of a style's strokes where it
acts (Great Wave's judge distance 0.0157 -> 0.0174 at an allowance of 24, 0.0162 at 48). So
each style gets the largest allowance from ``LADDER`` that brings its mean lift over the app's
own dark sample photos under ``TARGET_LIFT``, and no guard only when its network keeps them
clearly dark: a network's lift varies by several grey levels between photo sets (Père Tanguy's
37 on the sample photos is 43 on 24 of the shared set's), and the loosest allowance costs
almost nothing (Great Wave's judge 0.0157 -> 0.0159).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from engine.card import ModelCard
from engine.io import paths
from engine.io.images import load_image
from engine.io.model_files import read_card, write_card
from engine.runtime.dark_guard import DarkGuard, painting_dark_colour
from engine.runtime.stylizer import Stylizer
from engine.training.artefacts import DARK, THRESHOLDS, black_lift, luma

LADDER = (64, 48, 40, 32, 24, 16, 8)  # grey levels, loosest first
TARGET_LIFT = THRESHOLDS["black_lift"] - 2  # mean grey levels; a margin under the eval bar
UNGUARDED_LIFT = THRESHOLDS["black_lift"] - 8  # a network lifting less needs no guard
DARK_SHARE = (0.05, 0.6)  # photos with this share of near-black pixels count as dark photos


def dark_photos() -> list[np.ndarray]:
    """The bundled photos with large near-black areas: coats, night skies, black backgrounds,
    at their own size (short side 156-384)."""
    photos = []
    for file in sorted(paths.bundled_photos_dir().glob("*.jpg")):
        rgb = load_image(file).rgb
        if DARK_SHARE[0] < (luma(rgb) < DARK).mean() < DARK_SHARE[1]:
            photos.append(rgb)
    return photos


def fit_dark_guard(model: str | os.PathLike, painting: np.ndarray) -> tuple[str, int]:
    """(dark_colour, dark_lift) for the card of ``model`` trained on ``painting`` (uint8 RGB);
    ("", 0), no guard, if its network keeps the dark photos under ``UNGUARDED_LIFT``."""
    stylizer = Stylizer(model, dark_guard=False)
    photos = dark_photos()
    outputs = [stylizer.stylize(photo) for photo in photos]

    def mean_lift(guard: DarkGuard | None) -> float:
        return float(np.mean([black_lift(out if guard is None else guard(out, photo), photo)
                              for out, photo in zip(outputs, photos, strict=True)]))

    if not photos or mean_lift(None) < UNGUARDED_LIFT:
        return "", 0
    colour = painting_dark_colour(painting)
    for allowance in LADDER:
        if mean_lift(DarkGuard.parse(colour, allowance)) < TARGET_LIFT:
            return colour, allowance
    return colour, LADDER[-1]


def add_dark_guard(model: str | os.PathLike, painting: np.ndarray) -> ModelCard:
    """Fit the guard of ``model`` (our ONNX file, trained on ``painting``) and write it into
    its card; returns the new card."""
    colour, allowance = fit_dark_guard(model, painting)
    card = dataclasses.replace(read_card(model), dark_colour=colour, dark_lift=allowance)
    write_card(model, card)
    return card
