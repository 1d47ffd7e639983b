"""ONNX export: small files, the card inside, numbers that match torch, and loading back."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from style_models import random_net, read_rgb

from engine.card import ModelCard
from engine.errors import ModelLoadError, StudioError
from engine.export.to_onnx import export_onnx
from engine.io.model_files import load_network, read_card
from engine.models.config import NET_PRESETS, ModelConfig
from engine.models.transformer import count_weights

CARD = ModelCard(name="test-wave", title="The Test Wave", artist="Nobody", year="2026",
                 preset="seed-tiny", steps=7)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One random seed-tiny net exported as float32 and as int8 weights."""
    folder = tmp_path_factory.mktemp("export")
    net = random_net("seed-tiny", seed=1)
    fp32 = export_onnx(net, CARD, folder / "fp32.onnx", quantize_weights=False)
    int8 = export_onnx(net, CARD, folder / "int8.onnx")
    return net, fp32, int8


@pytest.fixture
def photo(bundled_photos) -> np.ndarray:
    rgb = read_rgb(bundled_photos[0])
    height, width = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    return rgb[:height, :width]


def run_onnx(path, rgb: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
    return session.run(["stylized"], {"image": x})[0]


def run_torch(net, rgb: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(rgb.transpose(2, 0, 1)[None].astype(np.float32))).numpy()


def test_graph_contract_and_size(exported):
    _, fp32, int8 = exported
    model = onnx.load(str(int8))
    (image,), (stylized,) = model.graph.input, model.graph.output
    assert (image.name, stylized.name) == ("image", "stylized")
    dims = image.type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[:2]] == [1, 3]
    assert dims[2].dim_param and dims[3].dim_param  # dynamic height and width
    assert not model.graph.value_info
    assert all(not n.name and not n.metadata_props for n in model.graph.node)
    int8_inits = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert len(int8_inits) == 12  # every conv kernel
    # int8 kernels: about 1 byte per weight plus the graph; float32 needs 4 per weight.
    assert int8.stat().st_size < 0.5 * fp32.stat().st_size
    assert int8.stat().st_size < 2.5 * count_weights(exported[0])


def test_card_round_trip(exported):
    net, _, int8 = exported
    card = read_card(int8)
    assert (card.name, card.title, card.artist, card.year, card.steps) == \
        (CARD.name, CARD.title, CARD.artist, CARD.year, CARD.steps)
    assert card.weights == count_weights(net)
    assert ModelConfig.from_dict(card.model_config) == net.config
    assert card.size_multiple == net.config.size_multiple


def test_fp32_onnx_matches_torch_on_a_photo(exported, photo):
    net, fp32, _ = exported
    onnx_out, torch_out = run_onnx(fp32, photo), run_torch(net, photo)
    assert onnx_out.shape == (1, 3, *photo.shape[:2])
    assert np.abs(onnx_out - torch_out).max() <= 1.0  # 1/255 of the 0..255 range
    assert onnx_out.std() > 5  # a real picture, not a constant


def test_int8_onnx_matches_dequantized_torch(exported, photo):
    net, _, int8 = exported
    dequantized, _ = load_network(int8)
    assert np.abs(run_onnx(int8, photo) - run_torch(dequantized, photo)).max() <= 1.0
    for (name, original), loaded in zip(net.state_dict().items(),
                                        dequantized.state_dict().values(), strict=True):
        step = original.abs().flatten(1).amax(1) / 127 if original.ndim == 4 else 0
        error = (loaded - original).abs().flatten(1).amax(1) if original.ndim == 4 else \
            (loaded - original).abs()
        assert torch.all(error <= step / 2 + 1e-6), name  # rounding to the nearest int8 step


def test_load_network_round_trip_fp32(exported):
    net, fp32, _ = exported
    loaded, card = load_network(fp32)
    assert card.name == CARD.name
    for (name, a), b in zip(net.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_checkpoint_round_trip(tmp_path):
    net = random_net("seed-tiny", seed=3)
    path = tmp_path / "run.pt"
    torch.save({"model_config": net.config.to_dict(), "model": net.state_dict(),
                "card": CARD.to_dict(), "step": 10}, path)
    loaded, card = load_network(path)
    assert card.title == CARD.title and ModelConfig.from_dict(card.model_config) == net.config
    x = torch.rand(1, 3, 32, 32) * 255
    with torch.no_grad():
        assert torch.equal(net(x), loaded(x))


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("content", [
    b"not a checkpoint at all",
    "pickle",  # arbitrary pickled object: weights_only refuses it
    "no-config",
    "wrong-shapes",
], ids=["garbage", "pickle", "no-config", "wrong-shapes"])
def test_bad_checkpoint(tmp_path, content):
    path = tmp_path / "bad.pt"
    net = random_net("seed-tiny")
    if content == "pickle":
        torch.save({"model_config": {}, "model": Evil()}, path)
    elif content == "no-config":
        torch.save({"model": net.state_dict()}, path)
    elif content == "wrong-shapes":
        torch.save({"model_config": {"alpha": 0.5}, "model": net.state_dict()}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match="bad.pt"):
        load_network(path)


def test_export_to_unwritable_place_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(StudioError, match="cannot write"):
        export_onnx(random_net(), CARD, blocker / "out.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("preset", sorted(NET_PRESETS))
def test_every_preset_exports_a_valid_int8_model(preset, tmp_path):
    """Regression: short tensor names once collided with the int8 initializers' names."""
    net = random_net(preset, seed=5)
    path = export_onnx(net, ModelCard(name="p", preset=preset), tmp_path / "p.onnx")
    rebuilt, _ = load_network(path)
    assert rebuilt.config == net.config
