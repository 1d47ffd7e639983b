"""Network presets have the sizes the project promises."""

from __future__ import annotations

import pytest

from engine.models.config import NET_PRESETS, net_preset
from engine.models.transformer import TransformerNet, count_weights


def expected_weights(preset: str) -> int:
    """Count from the architecture on paper: conv kernels, instance-norm scale and shift per
    normalised channel, and the output conv's bias (the only conv bias we keep)."""
    config = net_preset(preset)
    c1, c2, c3 = config.channels
    k, k_out = config.inner_kernel, config.outer_kernel
    convs = [(3, c1, k_out), (c1, c2, k), (c2, c3, k)]  # encoder
    convs += [(c3, c3, k)] * (2 * config.residual_blocks)
    convs += [(c3, c2, k), (c2, c1, k)]  # upsampling convs
    kernels = sum(c_in * c_out * size * size for c_in, c_out, size in convs)
    norms = sum(2 * c_out for _, c_out, _ in convs)
    return kernels + norms + c1 * 3 * k_out * k_out + 3


@pytest.mark.parametrize(
    "preset", sorted(p for p, c in NET_PRESETS.items() if c.design == "johnson")
)  # the "fast" design is counted in test_bench.py
def test_weight_count_matches_architecture(preset):
    assert count_weights(TransformerNet(net_preset(preset))) == expected_weights(preset)


def test_seed_tiny_size():
    # 11,865 trainable weights. With a bias on every conv it would be 11,964: instance norm
    # subtracts the per-channel mean, so the 99 biases of the 11 normalised convs do nothing
    # and we drop them. The seed project reported 11,868; we could not reproduce that count
    # (it is 3 more than ours, the size of one RGB bias vector), so we assert our own.
    assert count_weights(TransformerNet(net_preset("seed-tiny"))) == 11_865


def test_johnson_size():
    # Johnson et al. as in pytorch/examples: ~1.68M (1,679,235 with every conv bias).
    assert count_weights(TransformerNet(net_preset("johnson"))) == 1_677_635


@pytest.mark.parametrize("field", ["design", "padding"])
def test_config_rejects_unknown_choices(field):
    # A typo such as padding="zero" would otherwise build a zero-padded net without its margin.
    from engine.models.config import ModelConfig

    with pytest.raises(ValueError, match=f"ModelConfig.{field}"):
        ModelConfig(**{field: "zero"})
