"""ModelConfig.receptive_radius bounds what the real network sees: tiling's seams depend on it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.models.config import NET_PRESETS
from engine.models.transformer import TransformerNet

SIDE = 256  # px; larger than twice every preset's radius, so the image border is out of reach


def _measured_radius(name: str) -> int:
    """Farthest input px (Chebyshev distance) with a gradient on the centre output pixel.

    Instance norms are replaced by identities: their statistics are global, and tiling fixes
    them from a whole-image pass, which leaves exactly this local filter.
    """
    torch.manual_seed(0)
    net = TransformerNet(NET_PRESETS[name]).eval()
    for parent in list(net.modules()):
        for child_name, child in parent.named_children():
            if isinstance(child, nn.InstanceNorm2d):
                setattr(parent, child_name, nn.Identity())
    image = (torch.rand(1, 3, SIDE, SIDE) * 255).requires_grad_()
    centre = SIDE // 2
    net(image)[0, :, centre, centre].sum().backward()
    ys, xs = torch.nonzero(image.grad[0].abs().sum(0)).unbind(1)
    return int(max((ys - centre).abs().max(), (xs - centre).abs().max()))


@pytest.mark.parametrize("name", sorted(NET_PRESETS))
def test_receptive_radius_covers_the_network(name):
    config = NET_PRESETS[name]
    measured = _measured_radius(name)
    # never too small (seams), and not wastefully large (each px costs overlap in every tile)
    assert measured <= config.receptive_radius <= measured + 4, (name, measured)
