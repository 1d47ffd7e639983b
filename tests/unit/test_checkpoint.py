"""Checkpoint files: weights_only loading, clear errors, RNG state round trip."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from engine.errors import TrainingError
from engine.training.checkpoint import (
    FORMAT_VERSION,
    capture_rng_states,
    load_checkpoint,
    restore_rng_states,
    save_checkpoint,
)

STATE = {"step": 3, "model": {"w": torch.ones(2)}, "model_config": {}, "train_config": {},
         "optimizer": {"state": {}, "param_groups": []}, "rng": {}}


def test_round_trip_with_weights_only(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", STATE)
    state = load_checkpoint(path)
    assert state["format_version"] == FORMAT_VERSION and state["step"] == 3
    assert torch.equal(state["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left


@pytest.mark.parametrize("content, match", [
    (b"", "corrupt"),
    (b"PK\x03\x04 truncated zip", "corrupt"),
])
def test_corrupt_files_are_a_clear_error(tmp_path, content, match):
    path = tmp_path / "c.pt"
    path.write_bytes(content)
    with pytest.raises(TrainingError, match=match) as info:
        load_checkpoint(path)
    assert str(path) in info.value.message


def test_a_pickled_object_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    torch.save({"step": 1, "thing": object()}, path)
    with pytest.raises(TrainingError, match="corrupt or unreadable"):
        load_checkpoint(path)


def test_other_dicts_and_newer_formats_are_refused(tmp_path):
    torch.save({"step": 1}, tmp_path / "other.pt")
    with pytest.raises(TrainingError, match="not a TinyStyle checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    torch.save({**STATE, "format_version": FORMAT_VERSION + 1}, tmp_path / "new.pt")
    with pytest.raises(TrainingError, match="newer"):
        load_checkpoint(tmp_path / "new.pt")
    with pytest.raises(TrainingError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_rng_states_round_trip_through_a_file(tmp_path):
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    save_checkpoint(tmp_path / "c.pt", {**STATE, "rng": capture_rng_states()})
    first = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng_states(load_checkpoint(tmp_path / "c.pt")["rng"])
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], again[0])
    assert np.array_equal(first[1], again[1]) and first[2] == again[2]
