"""CLI fixtures: a small real ONNX style model (random weights: plumbing, not looks)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from model_cases import TINY_STYLE

from engine.cli import main
from engine.training.config import TRAIN_PRESETS, TrainConfig


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A seed-tiny network with seeded random weights, exported through engine.export.to_onnx."""
    import torch

    from engine.card import ModelCard
    from engine.export.to_onnx import export_onnx
    from engine.models.config import net_preset
    from engine.models.transformer import TransformerNet

    torch.manual_seed(0)
    net = TransformerNet(net_preset("seed-tiny"))
    card = ModelCard(name=TINY_STYLE, title="Test Pattern", artist="Nobody", year="2024",
                     preset="seed-tiny", description="random weights for CLI tests")
    return export_onnx(net, card, tmp_path_factory.mktemp("model") / f"{TINY_STYLE}.onnx")


@pytest.fixture
def user_style(tiny_model):
    """The tiny model installed as a user style (in this test's own TINYSTYLE_HOME)."""
    from engine.styles import import_user_style

    return import_user_style(tiny_model, name=TINY_STYLE)


@pytest.fixture
def run_cli(capsys):
    """Run ``tinystyle ARGS`` in-process; return (exit code, stdout, stderr)."""
    def run(*args: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def few_teacher_crops(monkeypatch) -> TrainConfig:
    """The default (painted) preset with 4 teacher crops: its 300 crops of 8 tiles are 2,400
    teacher passes (~3 min on 2 cores) before the first step."""
    painted = dataclasses.replace(TRAIN_PRESETS["painted"], teacher_pairs=4)
    monkeypatch.setitem(TRAIN_PRESETS, "painted", painted)
    return painted
