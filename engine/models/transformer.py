"""The image transformation network of Johnson et al. (2016), with a width multiplier.

Input and output are float RGB in 0..255, shape (N, 3, H, W) with H and W multiples of
``config.size_multiple``. Differences from the paper, each for a reason:
- upsampling is nearest-neighbour then conv, not a transposed conv, which makes
  checkerboard artifacts (Odena et al. 2016, https://distill.pub/2016/deconv-checkerboard/);
- instance norm instead of batch norm (Ulyanov et al. 2016), and no conv bias in front of it
  (instance norm subtracts the per-channel mean, so such a bias has no effect);
- reflection padding, so borders do not darken (``config.padding`` trades it for speed
  everywhere but in the output conv);
- optionally, fixed noise channels beside the photo (``config.noise_periods``,
  ``engine.models.noise``): somewhere to place strokes where the photo is flat.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models.config import ModelConfig
from engine.models.noise import NoiseChannels

# px of edge-replicated margin around the input of zero-padded networks, cropped from their
# output: zero padding draws a faint frame of artefacts up to ~10 px into the picture, which
# the margin keeps outside it (a reflected margin would need inputs of more than 8 px).
ZERO_PADDING_MARGIN = 8


def padded_conv(c_in: int, c_out: int, kernel: int, padding: str, stride: int = 1,
                groups: int = 1, bias: bool = False) -> list[nn.Module]:
    """A conv that keeps the size (up to its stride): reflection pad then conv, or a conv
    that pads with zeros itself (one op fewer; see ModelConfig.padding). A 1x1 conv's pad
    slot holds an Identity: nothing to pad, no copy per training step and no Pad op in the
    ONNX graph, and checkpoints keep their layer numbering."""
    if padding == "reflect":
        pad = nn.ReflectionPad2d(kernel // 2) if kernel > 1 else nn.Identity()
        return [pad, nn.Conv2d(c_in, c_out, kernel, stride, groups=groups, bias=bias)]
    return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=bias)]


class ConvNormReLU(nn.Sequential):
    """Padded conv (no bias) -> instance norm -> optional ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, relu: bool = True,
                 padding: str = "reflect"):
        layers = padded_conv(c_in, c_out, kernel, padding, stride)
        layers.append(nn.InstanceNorm2d(c_out, affine=True))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two 3x3 conv-norm layers with an identity skip (He et al. 2016)."""

    def __init__(self, channels: int, kernel: int, padding: str = "reflect"):
        super().__init__()
        self.body = nn.Sequential(
            ConvNormReLU(channels, channels, kernel, padding=padding),
            ConvNormReLU(channels, channels, kernel, relu=False, padding=padding),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Sequential):
    """Nearest-neighbour x2 upsampling followed by a conv-norm-ReLU (optionally separable)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, padding: str = "reflect",
                 separable: bool = False):
        if separable:
            conv = [DepthwiseConv(c_in, kernel, padding), ConvNormReLU(c_in, c_out, 1)]
        else:
            conv = [ConvNormReLU(c_in, c_out, kernel, padding=padding)]
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), *conv)


class DepthwiseConv(nn.Sequential):
    """Padded per-channel (depthwise) conv, no bias: a separable conv's spatial half."""

    def __init__(self, channels: int, kernel: int, padding: str = "reflect"):
        super().__init__(*padded_conv(channels, channels, kernel, padding, groups=channels))


class SeparableResidualBlock(nn.Module):
    """Residual block of two depthwise + pointwise conv pairs (MobileNet, Howard et al. 2017).

    At 16 channels each pair costs 400 multiply-adds per pixel instead of 2,304 for a 3x3 conv.
    """

    def __init__(self, channels: int, kernel: int, padding: str = "reflect"):
        super().__init__()
        self.body = nn.Sequential(
            DepthwiseConv(channels, kernel, padding),
            ConvNormReLU(channels, channels, 1),
            DepthwiseConv(channels, kernel, padding),
            ConvNormReLU(channels, channels, 1, relu=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def fast_layers(config: ModelConfig) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential]:
    """Encoder, residuals and decoder of the "fast" design, for real time on a laptop CPU.

    Profiling seed-tiny in ONNX Runtime showed the full-resolution layers (the 9x9 convs, their
    pads and norms) taking most of the time, so no layer here runs at full resolution: a
    stride-2 3x3 conv reads the image, and the last conv emits 4 sub-pixels per
    half-resolution position, which a pixel shuffle (depth-to-space, Shi et al. 2016) lays out
    at full size. The shuffle is 2x2, after a nearest-upsample + 3x3 conv at 1/2 resolution,
    so neighbouring blocks share most of their inputs (a 4x4 shuffle straight from 1/4
    resolution would risk visible blocks).
    """
    _, c2, c3 = config.channels
    k, pad = config.inner_kernel, config.padding
    encoder = nn.Sequential(ConvNormReLU(input_channels(config), c2, k, stride=2, padding=pad),
                            ConvNormReLU(c2, c3, k, stride=2, padding=pad))
    residuals = nn.Sequential(
        *[SeparableResidualBlock(c3, k, pad) for _ in range(config.residual_blocks)]
    )
    if config.separable_decoder:
        output = [DepthwiseConv(c2, k), nn.Conv2d(c2, 3 * 4, 1)]
    else:
        output = padded_conv(c2, 3 * 4, k, "reflect", bias=True)
    decoder = nn.Sequential(
        UpsampleConv(c3, c2, k, pad, separable=config.separable_decoder),
        *output,  # (N, 12, H/2, W/2), reflection padded: see ModelConfig.padding
        nn.PixelShuffle(2),  # (N, 3, H, W)
    )
    return encoder, residuals, decoder


def input_channels(config: ModelConfig) -> int:
    """Channels the stem conv reads: RGB plus the fixed noise channels."""
    return 3 + len(config.noise_periods)


class TransformerNet(nn.Module):
    """Feed-forward style network: 0..255 RGB in, 0..255 RGB out, same size."""

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        self.margin = ZERO_PADDING_MARGIN if self.config.padding == "zeros" else 0
        # first, so that its fixed convs come first in module order as in exported graphs
        self.noise = NoiseChannels(self.config.noise_periods) if self.config.noise_periods \
            else None
        if self.config.design == "fast":
            self.encoder, self.residuals, self.decoder = fast_layers(self.config)
            return
        c1, c2, c3 = self.config.channels
        k, k_out, pad = self.config.inner_kernel, self.config.outer_kernel, self.config.padding
        self.encoder = nn.Sequential(
            ConvNormReLU(input_channels(self.config), c1, k_out, padding=pad),
            ConvNormReLU(c1, c2, k, stride=2, padding=pad),
            ConvNormReLU(c2, c3, k, stride=2, padding=pad),
        )
        self.residuals = nn.Sequential(
            *[ResidualBlock(c3, k, pad) for _ in range(self.config.residual_blocks)]
        )
        self.decoder = nn.Sequential(
            UpsampleConv(c3, c2, k, pad),
            UpsampleConv(c2, c1, k, pad),
            *padded_conv(c1, 3, k_out, "reflect", bias=True),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        m = self.margin
        if m:
            image = nn.functional.pad(image, (m, m, m, m), mode="replicate")
        x = image / 127.5 - 1.0  # (N, 3, H, W) in -1..1
        if self.noise is not None:
            x = torch.cat([x, self.noise(x)], 1)
        x = self.decoder(self.residuals(self.encoder(x)))
        x = (torch.tanh(x) + 1.0) * 127.5  # (N, 3, H, W) in 0..255
        return x[:, :, m:-m, m:-m] if m else x


def count_weights(net: nn.Module) -> int:
    """Number of trainable parameters (conv kernels, norm scales/shifts, output bias)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
