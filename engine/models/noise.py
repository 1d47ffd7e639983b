"""Fixed noise channels for the stem conv: a texture source where the photo is flat.

Where a photo is a smooth gradient (a clear sky), nothing in the input says where a stroke
should go, so a network trained to paint learns the mean of its teacher's strokes there: a flat
wash. Extra input channels of fixed noise give it somewhere to place them (docs/strokes,
"Great Wave: noise channels in the engine": hatched skies, judge 0.0173 -> 0.0157 on the 20
test photos).

Each channel is a random +-NOISE_LEVEL tile of its own period, repeated over the image; with
coprime periods (59, 61 and 64 px) the channels' mix repeats only every 230,336 px. The tiles
are built from ops every runtime computes exactly alike, fp16 Core ML included (no
coordinates, no hash): a 1x1 stride-P conv with zero weights and bias 1 gives a map of ones, a
fixed 1x1 conv puts the tile's P*P values in channels, a depth-to-space lays them out, a crop
fits the image.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# Noise values are +-NOISE_LEVEL: about the spread of a photo in the network's -1..1 input, so
# the stem conv's default initialisation weighs the noise like the photo.
NOISE_LEVEL = 0.5


class NoiseTile(nn.Module):
    """One fixed +-NOISE_LEVEL noise channel of period ``period`` px, the size of its input."""

    def __init__(self, period: int):
        super().__init__()
        self.period = period
        self.ones = nn.Conv2d(3, 1, 1, stride=period)
        self.tile = nn.Conv2d(1, period * period, 1, bias=False)
        values = np.random.default_rng(period).integers(0, 2, period * period) * 2.0 - 1.0
        values *= NOISE_LEVEL
        with torch.no_grad():
            self.ones.weight.zero_()
            self.ones.bias.fill_(1.0)
            self.tile.weight.copy_(torch.tensor(values, dtype=torch.float32).view(-1, 1, 1, 1))
        for param in self.parameters():
            param.requires_grad_(False)  # fixed: not trained, not counted as weights

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) noise for an (N, C, H, W) image."""
        tiles = nn.functional.pixel_shuffle(self.tile(self.ones(image)), self.period)
        return tiles[:, :, :image.shape[2], :image.shape[3]]


class NoiseChannels(nn.Module):
    """One fixed noise channel per period, stacked: (N, len(periods), H, W)."""

    def __init__(self, periods: tuple[int, ...]):
        super().__init__()
        self.tiles = nn.ModuleList(NoiseTile(p) for p in periods)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.cat([tile(image) for tile in self.tiles], 1)
