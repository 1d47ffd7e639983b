"""Every built-in style exports to an 8-bit Core ML model under the seed's size, and the exported
default-network model computes what ONNX Runtime computes (the trained weights, real photos)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.export.coreml.convert import export_coreml
from engine.export.coreml.reference import evaluate, load_spec, to_uint8
from engine.io.images import load_image
from engine.io.paths import bundled_photos_dir
from engine.models.config import DEFAULT_NET_PRESET
from engine.runtime.stylizer import Stylizer
from engine.styles import list_styles

pytest.importorskip("coremltools")

SEED_SIZE_LIMIT = 17_000  # bytes; the seed's 8-bit model was 16,876
BUNDLED = [s for s in list_styles() if s.bundled]
PHOTOS = ("mvtb-notre-dame.jpg", "gcompris-world-music-mexico.jpg")


@pytest.mark.parametrize("style", BUNDLED, ids=lambda s: s.name)
def test_bundled_style_exports_under_17kb(style, tmp_path):
    path = export_coreml(style.path, tmp_path / f"{style.name}.mlmodel")
    assert path.stat().st_size <= SEED_SIZE_LIMIT


@pytest.mark.parametrize("bits,mean_max,max_max", [(8, 3.0, 12), (32, 0.5, 1)])
def test_default_network_export_matches_onnx_runtime(bits, mean_max, max_max, tmp_path):
    import cv2

    style = next(s for s in BUNDLED if s.preset == DEFAULT_NET_PRESET)
    spec = load_spec(export_coreml(style.path, tmp_path / "m.mlmodel", bits=bits))
    stylizer = Stylizer(style.path, threads=1, dark_guard=False)  # the graph carries no guard
    for name in PHOTOS:
        rgb = cv2.resize(load_image(bundled_photos_dir() / name).rgb, (320, 240))
        diff = np.abs(to_uint8(evaluate(spec, rgb)).astype(float) - stylizer.stylize(rgb))
        assert diff.mean() <= mean_max and diff.max() <= max_max, (name, diff.mean(), diff.max())


def test_default_network_margin_is_size_agnostic_and_scaling_folded(tmp_path):
    """The zero-padded default network's input margin stays one edge-replication padding in
    front, its crop one size-agnostic crop layer at the end (not slices baked for the traced
    size), and the input scaling behind the margin still moves into the image scaler."""
    style = next(s for s in BUNDLED if s.preset == DEFAULT_NET_PRESET)
    spec = load_spec(export_coreml(style.path, tmp_path / "m.mlmodel"))
    layers = spec.neuralNetwork.layers
    kinds = [layer.WhichOneof("layer") for layer in layers]
    assert "slice" not in kinds and "multiply" not in kinds
    assert kinds[0] == "padding" and layers[0].padding.WhichOneof("PaddingType") == "replication"
    assert kinds[-1] == "crop"
    scaler = spec.neuralNetwork.preprocessing[0].scaler
    assert scaler.channelScale == pytest.approx(1 / 127.5)
