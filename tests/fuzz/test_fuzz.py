"""A short fuzz run (under a minute) of the targets in tests/fuzz/targets.py; scripts/fuzz.py
runs the same targets for longer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import targets

SHORT = settings(max_examples=25, deadline=None, database=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))
SUFFIXES = st.sampled_from([".jpg", ".png", ".webp", ".gif", ".tif", ".bmp", ".txt"])


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> targets.Seeds:
    return targets.Seeds.build(tmp_path_factory.mktemp("seeds"))


@pytest.fixture(scope="module")
def photo(seeds) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)


def test_images(seeds):
    @SHORT
    @given(st.data())
    def case(data):
        image = data.draw(st.sampled_from(seeds.images))
        targets.check_image(targets.mutate_bytes(image, data.draw), data.draw(SUFFIXES))

    case()


def test_models(seeds, photo):
    @settings(SHORT, max_examples=12)
    @given(st.data())
    def case(data):
        targets.check_model(targets.mutate_model(seeds.model, data.draw), photo)

    case()


def test_checkpoints(seeds):
    @settings(SHORT, max_examples=12)
    @given(st.data())
    def case(data):
        targets.check_checkpoint(targets.mutate_checkpoint(seeds.checkpoint, data.draw))

    case()


def test_cli(seeds):
    @settings(SHORT, max_examples=8)
    @given(st.data())
    def case(data):
        image = targets.mutate_bytes(data.draw(st.sampled_from(seeds.images)), data.draw)
        model = (targets.mutate_model(seeds.model, data.draw) if data.draw(st.booleans())
                 else seeds.model)
        targets.check_cli(image, data.draw(SUFFIXES), model)

    case()
