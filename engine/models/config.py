"""Network configurations and their named presets.

One frozen dataclass describes a transformer network; presets only say what they change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Bounds on configs read from files: far beyond any useful style network, small enough that
# building one cannot exhaust memory.
MAX_WIDTH = 1024  # channels
MAX_ALPHA = 8.0  # width multiplier
MAX_BLOCKS = 64  # residual blocks
MAX_KERNEL = 15  # px
MAX_NOISE_CHANNELS = 4
MAX_NOISE_PERIOD = 64  # px


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a Johnson et al. (2016) image transformation network."""

    widths: tuple[int, int, int] = (32, 64, 128)  # channels at 1x, 1/2x, 1/4x resolution (alpha 1)
    alpha: float = 1.0  # width multiplier (MobileNet-style); channels = floor(width * alpha)
    residual_blocks: int = 5  # residual blocks at 1/4 resolution
    outer_kernel: int = 9  # kernel of the first and last conv (full resolution)
    inner_kernel: int = 3  # kernel of every other conv
    # "johnson": the paper's layout. "fast": no full-resolution conv (a stride-2 stem in,
    # pixel shuffle out, channels[0] unused) and depthwise-separable residual blocks; see
    # engine.models.transformer.fast_layers for why.
    design: str = "johnson"
    # "reflect": every conv reads a reflection-padded input, so borders do not darken.
    # "zeros": convs pad with zeros themselves. In ONNX Runtime each separate Pad op costs
    # a layout change around it; dropping them made fast-16-r5 another ~10-15% faster. The
    # output conv stays reflection padded either way, so the border is not drawn as a frame.
    padding: str = "reflect"
    # "fast" design only: the decoder's two convs depthwise-separable, like the residual blocks.
    separable_decoder: bool = False
    # Periods in px of fixed noise channels given to the stem conv beside the photo, one
    # channel each (engine.models.noise: somewhere to put strokes where the photo is flat);
    # coprime periods repeat their mix rarely. () for none.
    noise_periods: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for field, value, allowed in (("design", self.design, ("johnson", "fast")),
                                      ("padding", self.padding, ("reflect", "zeros"))):
            if value not in allowed:
                raise ValueError(f"ModelConfig.{field} must be one of {allowed}, not {value!r}")
        _check_ranges(self)

    @property
    def channels(self) -> tuple[int, int, int]:
        """Channel counts after the width multiplier, at 1x, 1/2x and 1/4x resolution."""
        return tuple(max(1, int(w * self.alpha)) for w in self.widths)  # type: ignore[return-value]

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (two stride-2 stages)."""
        return 4

    @property
    def receptive_radius(self) -> int:
        """Input px on each side that one output pixel depends on, instance-norm statistics aside.

        Tiling needs it (``engine.runtime.tiling``). Each spatial conv widens the view by
        ``kernel // 2`` of its own pixels, which span ``scale`` input pixels at its resolution;
        the list follows ``engine.models.transformer`` layer by layer, and a test checks the sum
        against the real network's gradients.
        """
        k, o, res = self.inner_kernel, self.outer_kernel, [(self.inner_kernel, 4)] * (
            2 * self.residual_blocks)  # two convs per residual block, at 1/4 resolution
        # A nearest x2 upsampling to scale s can round a position by up to s input px.
        if self.design == "fast":
            # stride-2 stem reads 1x, stride-2 conv reads 1/2x; decoder conv and output conv at
            # 1/2x; upsampling to 1/2x (2 px) and the 2x2 pixel shuffle (1 px)
            convs = [(k, 1), (k, 2), *res, (k, 2), (k, 2)]
            return sum(kernel // 2 * scale for kernel, scale in convs) + 2 + 1
        # first conv at 1x, stride-2 convs read 1x and 1/2x; upsampling convs at 1/2x and 1x
        # (upsamplings: 2 + 1 px); the last conv at 1x
        convs = [(o, 1), (k, 1), (k, 2), *res, (k, 2), (k, 1), (o, 1)]
        return sum(kernel // 2 * scale for kernel, scale in convs) + 2 + 1

    def to_dict(self) -> dict:
        data = asdict(self)
        if not self.noise_periods:  # as before noise channels: cards of such models unchanged
            del data["noise_periods"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return config_from_dict(cls, data)


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_ranges(config: ModelConfig) -> None:
    """Types and sane ranges, so a config read from a file cannot build an absurd network."""
    widths = config.widths
    if not (isinstance(widths, tuple) and len(widths) == 3
            and all(_is_int(w, 1, MAX_WIDTH) for w in widths)):
        raise ValueError(f"ModelConfig.widths must be 3 whole numbers 1..{MAX_WIDTH}, "
                         f"not {widths!r}")
    alpha = config.alpha
    if not (isinstance(alpha, (int, float)) and not isinstance(alpha, bool)
            and 0 < alpha <= MAX_ALPHA):
        raise ValueError(f"ModelConfig.alpha must be in (0, {MAX_ALPHA}], not {alpha!r}")
    if not _is_int(config.residual_blocks, 0, MAX_BLOCKS):
        raise ValueError(f"ModelConfig.residual_blocks must be 0..{MAX_BLOCKS}, "
                         f"not {config.residual_blocks!r}")
    for field in ("outer_kernel", "inner_kernel"):
        value = getattr(config, field)
        if not _is_int(value, 1, MAX_KERNEL) or value % 2 == 0:
            raise ValueError(f"ModelConfig.{field} must be odd, 1..{MAX_KERNEL}, not {value!r}")
    periods = config.noise_periods
    if not (isinstance(periods, tuple) and len(periods) <= MAX_NOISE_CHANNELS
            and all(_is_int(p, 2, MAX_NOISE_PERIOD) for p in periods)):
        raise ValueError(f"ModelConfig.noise_periods must be up to {MAX_NOISE_CHANNELS} whole "
                         f"numbers 2..{MAX_NOISE_PERIOD}, not {periods!r}")
    if not isinstance(config.separable_decoder, bool):
        raise ValueError(f"ModelConfig.separable_decoder must be true or false, "
                         f"not {config.separable_decoder!r}")


def config_from_dict(cls: type, data: dict) -> Any:
    """Rebuild a config dataclass from ``asdict`` output (e.g. a checkpoint).

    Unknown keys (from other versions) are ignored, and lists become tuples again, since
    checkpoints store plain lists.
    """
    known = {k: tuple(v) if isinstance(v, list) else v
             for k, v in data.items() if k in cls.__dataclass_fields__}
    return cls(**known)


NET_PRESETS: dict[str, ModelConfig] = {
    # The seed's "17 KB" network: 9 filters everywhere (32 * 0.3), 3 residual blocks.
    "seed-tiny": ModelConfig(widths=(32, 32, 32), alpha=0.3, residual_blocks=3),
    # Johnson et al. 2016 as in pytorch/examples fast_neural_style.
    "johnson": ModelConfig(),
    # Real-time on a 2-core laptop CPU (issue 6): no full-resolution layer, 8 channels at 1/2
    # and 16 at 1/4 resolution: multiples of 8 fill ONNX Runtime's AVX2 NCHWc blocks, where
    # seed-tiny's 9 channels are padded to 16 and waste almost half. The fastest preset, but
    # its style loss is 14% above seed-tiny's under the same recipe (the bar is +10%).
    "fast-16": ModelConfig(widths=(8, 8, 16), residual_blocks=3, design="fast"),
    # The same with 5 residual blocks: the larger receptive field brings the style loss to
    # seed-tiny's (+2%) for ~20% more time. The default: the fastest that keeps the look.
    "fast-16-r5": ModelConfig(widths=(8, 8, 16), residual_blocks=5, design="fast"),
    # fast-16-r5 without the Pad ops (zero padding), and then with a separable decoder too:
    # the decoder's full 3x3 convs at 1/2 resolution were over half of the multiply-adds.
    "fast-16-r5-zp": ModelConfig(widths=(8, 8, 16), residual_blocks=5, design="fast",
                                 padding="zeros"),
    "fast-16-r5-zs": ModelConfig(widths=(8, 8, 16), residual_blocks=5, design="fast",
                                 padding="zeros", separable_decoder=True),
    "fast-16-r6-zs": ModelConfig(widths=(8, 8, 16), residual_blocks=6, design="fast",
                                 padding="zeros", separable_decoder=True),
    # The default with three fixed noise channels (periods 59, 61 and 64 px) beside the photo:
    # strokes where the photo is flat (Great Wave's skies, session 26; periods 17, 19 and 23
    # trained as close on the test photos but not on the validation ones).
    "fast-16-r5-zs-noise": ModelConfig(widths=(8, 8, 16), residual_blocks=5, design="fast",
                                       padding="zeros", separable_decoder=True,
                                       noise_periods=(59, 61, 64)),
}

# The preset the app uses for built-in styles and the train wizard.
DEFAULT_NET_PRESET = "fast-16-r5-zs"


def net_preset(name: str) -> ModelConfig:
    """Look up a network preset by name, with a clear error listing the valid ones."""
    from engine.errors import StudioError

    try:
        return NET_PRESETS[name]
    except KeyError:
        raise StudioError(
            f"unknown network preset '{name}'", hint=f"choose one of: {', '.join(NET_PRESETS)}"
        ) from None
