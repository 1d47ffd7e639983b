"""`tinystyle info`: model files, checkpoints, style names and network presets."""

from __future__ import annotations

import json

import pytest
import torch
from model_cases import BAD_MODELS, TINY_STYLE

from engine.models.config import net_preset
from engine.models.transformer import TransformerNet, count_weights


def weights_of(preset: str) -> int:
    return count_weights(TransformerNet(net_preset(preset)))


def test_model_file_json(run_cli, tiny_model):
    code, out, err = run_cli("info", tiny_model, "--json")
    assert code == 0, err
    facts = json.loads(out)
    assert facts["preset"] == "seed-tiny" and facts["weights"] == weights_of("seed-tiny")
    assert facts["size_bytes"] == tiny_model.stat().st_size and facts["format"] == "onnx"
    assert facts["input"]["name"] == "image" and facts["input"]["size_multiple"] == 4
    assert facts["input"]["shape"][:2] == [1, 3]
    assert facts["card"]["title"] == "Test Pattern" and facts["card"]["artist"] == "Nobody"


def test_model_file_text(run_cli, tiny_model):
    code, out, _ = run_cli("info", tiny_model)
    assert code == 0
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["preset"].strip() == "seed-tiny"
    assert lines["weights"].strip() == f"{weights_of('seed-tiny'):,}"
    assert "'image' float32 1x3x" in lines["input"] and "multiples of 4" in lines["input"]
    assert lines["artist"].strip() == "Nobody"


def test_style_name_describes_its_model(run_cli, user_style):
    code, out, err = run_cli("info", TINY_STYLE, "--json")
    assert code == 0, err
    facts = json.loads(out)
    assert facts["path"] == str(user_style.path) and facts["card"]["name"] == TINY_STYLE


def test_checkpoint_infers_preset_and_counts_weights(tmp_path, run_cli):
    net = TransformerNet(net_preset("seed-tiny"))
    path = tmp_path / "run.pt"
    torch.save({"model_config": net.config.to_dict(), "model": net.state_dict()}, path)
    code, out, err = run_cli("info", path, "--json")
    assert code == 0, err
    facts = json.loads(out)
    assert facts["format"] == "checkpoint"
    assert facts["preset"] == "seed-tiny" and facts["weights"] == weights_of("seed-tiny")


@pytest.mark.parametrize("preset", ["seed-tiny", "johnson"])
def test_presets(run_cli, preset):
    code, out, _ = run_cli("info", preset, "--json")
    assert code == 0
    facts = json.loads(out)
    config = net_preset(preset)
    assert facts["preset"] == preset and facts["weights"] == weights_of(preset)
    assert facts["channels"] == list(config.channels)
    assert facts["residual_blocks"] == config.residual_blocks
    code, out, _ = run_cli("info", preset)
    assert code == 0 and f"{weights_of(preset):,}" in out


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_is_one_clear_error(tmp_path, run_cli, case):
    build, phrase = BAD_MODELS[case]
    model = build(tmp_path)
    code, out, err = run_cli("info", model)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {model}") and phrase in err.splitlines()[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("target, phrase", [
    ("no-such-thing", "not a model file, network preset or style name"),
    ("missing/model.onnx", "no such model file"),
])
def test_unknown_target(run_cli, target, phrase):
    code, out, err = run_cli("info", target)
    assert code == 2 and out == "" and phrase in err
    assert "seed-tiny" in err or "no such" in err  # the hint lists the presets


def test_a_built_in_names_its_near_black_guard(run_cli):
    code, out, err = run_cli("info", "composition-viii")
    assert code == 0, err
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["near-black"].strip() == "kept within 16 grey levels, towards #241e22"
    code, out, err = run_cli("info", "mona-lisa")  # its network keeps them dark by itself
    assert code == 0 and "near-black" not in out
