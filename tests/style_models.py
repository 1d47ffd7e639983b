"""Random-weight style networks and their ONNX exports, for runtime tests before trained styles.

Instance-norm scales and shifts are randomised too (fresh ones are all 1 and 0, which the
exporter merges into one shared tensor and which would hide weight-mapping mistakes).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from engine.card import ModelCard
from engine.export.to_onnx import export_onnx
from engine.io.images import load_image
from engine.models.config import net_preset
from engine.models.transformer import TransformerNet


def random_net(preset: str = "seed-tiny", seed: int = 0) -> TransformerNet:
    torch.manual_seed(seed)
    net = TransformerNet(net_preset(preset)).eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.InstanceNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return net


def export_random(path: Path, *, preset: str = "seed-tiny", seed: int = 0,
                  quantize_weights: bool = True, **card: str) -> Path:
    """Export a random network with a card named after the file (extra card fields allowed)."""
    fields = {"name": path.stem, "title": path.stem.title(), "preset": preset, **card}
    return export_onnx(random_net(preset, seed), ModelCard(**fields), path,
                       quantize_weights=quantize_weights)


def read_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A photo as uint8 (H, W, 3) RGB, optionally resized to ``size`` = (width, height)."""
    rgb = load_image(path).rgb
    return cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC) if size else rgb
