"""The image transformation network of Johnson et al. (2016), with a width multiplier.

Input and output are float RGB in 0..255, shape (N, 3, H, W) with H and W multiples of
``config.size_multiple``. Differences from the paper, each for a reason:
- upsampling is nearest-neighbour then conv, not a transposed conv, which makes
  checkerboard artifacts (Odena et al. 2016, https://distill.pub/2016/deconv-checkerboard/);
- instance norm instead of batch norm (Ulyanov et al. 2016), and no conv bias in front of it
  (instance norm subtracts the per-channel mean, so such a bias has no effect);
- reflection padding, so borders do not darken.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.config import ModelConfig


class ConvNormReLU(nn.Sequential):
    """Reflection pad -> conv (no bias) -> instance norm -> optional ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, relu: bool = True):
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(kernel // 2),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, bias=False),
            nn.InstanceNorm2d(c_out, affine=True),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """Two 3x3 conv-norm layers with an identity skip (He et al. 2016)."""

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        self.body = nn.Sequential(
            ConvNormReLU(channels, channels, kernel),
            ConvNormReLU(channels, channels, kernel, relu=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Sequential):
    """Nearest-neighbour x2 upsampling followed by a conv-norm-ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"), ConvNormReLU(c_in, c_out, kernel)
        )


class DepthwiseConv(nn.Sequential):
    """Reflection pad -> per-channel (depthwise) conv, no bias: a separable conv's spatial half."""

    def __init__(self, channels: int, kernel: int):
        super().__init__(
            nn.ReflectionPad2d(kernel // 2),
            nn.Conv2d(channels, channels, kernel, groups=channels, bias=False),
        )


class SeparableResidualBlock(nn.Module):
    """Residual block of two depthwise + pointwise conv pairs (MobileNet, Howard et al. 2017).

    At 16 channels each pair costs 400 multiply-adds per pixel instead of 2,304 for a 3x3 conv.
    """

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        self.body = nn.Sequential(
            DepthwiseConv(channels, kernel),
            ConvNormReLU(channels, channels, 1),
            DepthwiseConv(channels, kernel),
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
    k = config.inner_kernel
    encoder = nn.Sequential(ConvNormReLU(3, c2, k, stride=2), ConvNormReLU(c2, c3, k, stride=2))
    blocks = [SeparableResidualBlock(c3, k) for _ in range(config.residual_blocks)]
    residuals = nn.Sequential(*blocks)
    decoder = nn.Sequential(
        UpsampleConv(c3, c2, k),
        nn.ReflectionPad2d(k // 2),
        nn.Conv2d(c2, 3 * 4, k),  # (N, 12, H/2, W/2)
        nn.PixelShuffle(2),  # (N, 3, H, W)
    )
    return encoder, residuals, decoder


class TransformerNet(nn.Module):
    """Feed-forward style network: 0..255 RGB in, 0..255 RGB out, same size."""

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        if self.config.design == "fast":
            self.encoder, self.residuals, self.decoder = fast_layers(self.config)
            return
        c1, c2, c3 = self.config.channels
        k, k_out = self.config.inner_kernel, self.config.outer_kernel
        self.encoder = nn.Sequential(
            ConvNormReLU(3, c1, k_out),
            ConvNormReLU(c1, c2, k, stride=2),
            ConvNormReLU(c2, c3, k, stride=2),
        )
        self.residuals = nn.Sequential(
            *[ResidualBlock(c3, k) for _ in range(self.config.residual_blocks)]
        )
        self.decoder = nn.Sequential(
            UpsampleConv(c3, c2, k),
            UpsampleConv(c2, c1, k),
            nn.ReflectionPad2d(k_out // 2),
            nn.Conv2d(c1, 3, k_out),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image / 127.5 - 1.0  # (N, 3, H, W) in -1..1
        x = self.decoder(self.residuals(self.encoder(x)))
        return (torch.tanh(x) + 1.0) * 127.5  # (N, 3, H, W) in 0..255


def count_weights(net: nn.Module) -> int:
    """Number of trainable parameters (conv kernels, norm scales/shifts, output bias)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
