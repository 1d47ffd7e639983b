"""The `refine` preset: training starts from the painting's instant style (issue #16)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from engine.errors import TrainingError
from engine.io.images import load_image
from engine.training.config import INSTANT_INIT, TRAIN_PRESETS
from engine.training.trainer import Trainer
from tests.unit.test_instant import HAS_TEACHER, NO_TEACHER, PAINTING

pytestmark = pytest.mark.skipif(not HAS_TEACHER, reason=NO_TEACHER)


def test_refine_preset_is_the_painted_recipe_from_the_instant_style():
    refine, painted = TRAIN_PRESETS["refine"], TRAIN_PRESETS["painted"]
    assert refine.init_from == INSTANT_INIT and refine.method == painted.method
    assert refine.steps < painted.steps and refine.teacher_pairs < painted.teacher_pairs


def test_first_weights_are_the_instant_network_of_the_painting(tmp_path, bundled_photos):
    from engine.training.checkpoint import load_checkpoint
    from engine.training.instant import load_instant
    from engine.training.teacher import PaintingTeacher

    # one step at a vanishing learning rate: the checkpoint holds the starting weights
    config = dataclasses.replace(TRAIN_PRESETS["refine"], steps=1, lr=1e-12, teacher_pairs=2,
                                 batch_size=2, image_size=64, preview_every=0, threads=1)
    result = Trainer(config, PAINTING, bundled_photos[:2], tmp_path, device="cpu").run()
    trained = load_checkpoint(result.checkpoint_path)["model"]
    vector = PaintingTeacher(load_image(PAINTING).rgb).style_vector
    expected = load_instant().network(vector).state_dict()
    assert trained.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(trained[key], value, rtol=0, atol=1e-6)
    untouched = load_instant().backbone.state_dict()  # the norms did move to this painting's
    assert not all(torch.allclose(trained[k], v) for k, v in untouched.items())


def test_another_network_is_refused_with_a_hint(tmp_path, bundled_photos):
    config = dataclasses.replace(TRAIN_PRESETS["refine"], net="seed-tiny", steps=1,
                                 teacher_pairs=2, batch_size=2, image_size=64, threads=1)
    with pytest.raises(TrainingError, match="instant styles use the fast-16-r5-zs") as info:
        Trainer(config, PAINTING, bundled_photos[:2], tmp_path, device="cpu").run()
    assert "--net fast-16-r5-zs" in info.value.hint
