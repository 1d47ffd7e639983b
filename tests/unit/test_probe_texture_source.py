"""scripts/probe_texture_source.py: its texture sources vary the output where the photo does
not, and the variant exports to an ONNX graph that computes what torch does."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engine.card import ModelCard
from engine.export.to_onnx import export_onnx
from engine.models.config import DEFAULT_NET_PRESET, net_preset
from engine.models.transformer import TransformerNet

SCRIPTS = Path(__file__).parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))  # the probe imports validate_judge as its own scripts do
spec = importlib.util.spec_from_file_location("probe_texture_source",
                                              SCRIPTS / "probe_texture_source.py")
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)
sys.path.remove(str(SCRIPTS))


def flat_photo() -> torch.Tensor:
    return torch.full((1, 3, 64, 96), 140.0)


@pytest.mark.parametrize("source", ["contour", "noise"])
def test_a_texture_source_varies_the_output_where_the_photo_is_flat(source):
    torch.manual_seed(0)
    plain = TransformerNet(net_preset(DEFAULT_NET_PRESET)).eval()
    textured = probe.TextureSourceNet(net_preset(DEFAULT_NET_PRESET), source).eval()
    textured.load_state_dict(plain.state_dict(), strict=False)
    ramp = flat_photo() + torch.linspace(0, 60, 96)  # contours need the luma to vary
    photo = ramp if source == "contour" else flat_photo()
    with torch.no_grad():
        texture = textured.texture(photo)
        assert texture.shape == (1, probe.SOURCE_CHANNELS, 64, 96)
        assert texture.abs().max() <= 1 and texture.std() > 0.3
        # the plain network draws the same thing on every 2x2 cell of a flat photo (its
        # output's pixel shuffle); the source varies it from place to place
        added = (textured(photo) - plain(photo))[..., 16:-16, 16:-16]
        assert added.std() > 1.0


def test_the_contour_variant_exports_to_the_same_computation(tmp_path):
    torch.manual_seed(0)
    net = probe.TextureSourceNet(net_preset(DEFAULT_NET_PRESET), "contour").eval()
    card = ModelCard(name="probe")
    path = export_onnx(net, card, tmp_path / "probe.onnx", quantize_weights=False)
    photo = torch.rand(1, 3, 72, 96) * 255
    session = ort.InferenceSession(str(path))
    out = session.run(None, {session.get_inputs()[0].name: photo.numpy()})[0]
    with torch.no_grad():
        assert np.abs(out - net(photo).numpy()).max() < 0.5
