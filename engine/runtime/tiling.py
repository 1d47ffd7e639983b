"""Tiled inference for images too large to run whole, without seams.

Each instance-norm layer normalises with statistics of the whole image, so a tile run on its
own is normalised differently and seams show. We therefore run the network twice: once on the
whole image (downscaled if huge) to measure every instance-norm layer's mean and variance, then
tile by tile through a copy of the graph whose instance norms use those fixed statistics. With
fixed statistics the network is a local filter, so a tile is exact wherever its receptive field
(``ModelConfig.receptive_radius``) stays inside it; overlaps cover that halo plus a linear
feather, and the tiled result matches the untiled one.

A network with fixed noise channels (``engine.models.noise``) draws them from each input's
corner, so a tile would start the pattern afresh: the tile graph takes them as inputs instead,
cut from the whole image's pattern, read off the first pass (``engine.runtime.noise_inputs``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from engine.io.model_files import constant_tensors
from engine.models.config import ModelConfig
from engine.progress import Progress, no_progress
from engine.runtime.arrays import (
    MIN_SIDE,
    pad_to_multiple,
    round_down,
    round_up,
    to_hwc,
    to_nchw,
)
from engine.runtime.noise_inputs import (
    Noise,
    NoisePattern,
    noise_channels,
    with_noise_inputs,
    with_noise_outputs,
)

log = logging.getLogger(__name__)

FEATHER = 32  # px of linear cross-fade between overlapping tiles
# px of context for models that are not ours, whose receptive field we cannot compute: almost
# twice that of our widest preset (johnson, 54 px); a smaller true radius only costs overlap.
UNKNOWN_HALO = 96

# Runs a feed through a session and returns its outputs (the Stylizer's error handling).
RunFeed = Callable[[dict[str, np.ndarray], ort.InferenceSession], list[np.ndarray]]
NewSession = Callable[[onnx.ModelProto], ort.InferenceSession]


def halo(config: ModelConfig | None, multiple: int) -> int:
    """Input px a tile edge must stay away from: receptive radius plus alignment slack."""
    if config is None:
        return UNKNOWN_HALO
    return config.receptive_radius + 2 * multiple


class Tiler:
    """Tiled inference with instance-norm statistics fixed from a whole-image pass."""

    def __init__(self, model: onnx.ModelProto, path: Path, *, config: ModelConfig | None,
                 multiple: int, input_name: str, new_session: NewSession, run: RunFeed,
                 fallback: ort.InferenceSession) -> None:
        self.multiple, self.input_name, self.run_feed = multiple, input_name, run
        self.halo = halo(config, multiple)
        norms = [n for n in model.graph.node if n.op_type == "InstanceNormalization"]
        consts = constant_tensors(model)
        self.norms = []  # (scale, bias, epsilon) per instance norm, graph order
        for node in norms:
            eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
            self.norms.append((consts.get(node.input[1]), consts.get(node.input[2]), eps))
        self.fixed = bool(norms) and all(s is not None and b is not None for s, b, _ in self.norms)
        if norms and not self.fixed:
            log.warning("%s: instance-norm parameters are not constants; tiles may show seams",
                        path)
        self.tile_session = fallback
        self.noise = noise_channels(model) if self.fixed else []
        self._noise_pattern: NoisePattern | None = None  # the whole image's, from the first pass
        if self.fixed:
            self.stats_session = new_session(_with_norm_stats(model, self.noise))
            self.tile_session = new_session(with_noise_inputs(_with_fixed_norms(model),
                                                              self.noise))

    def run(self, padded: np.ndarray, tile: int, stats_pixels: int,
            progress: Progress = no_progress) -> np.ndarray:
        """float32 (H, W, 3) output for a padded uint8 (H, W, 3) image, tile by tile.

        ``stats_pixels`` caps the whole-image statistics pass (downscaled beyond it).
        ``progress`` is called before each tile and may raise ``Cancelled``.
        """
        m = self.multiple
        overlap = round_up(2 * self.halo + FEATHER, m)
        tile = max(round_down(tile, m), 2 * overlap)
        feed = self._norm_feed(padded, stats_pixels) if self.fixed else {}
        height, width = padded.shape[:2]
        acc = np.zeros((height, width, 3), np.float32)
        total = np.zeros((height, width, 1), np.float32)
        rows, cols = _spans(height, tile, overlap), _spans(width, tile, overlap)
        for i, (y0, y1) in enumerate(rows):
            wy = _ramp(y0, y1, height, self.halo)
            for j, (x0, x1) in enumerate(cols):
                progress((i * len(cols) + j) / (len(rows) * len(cols)), "stylizing tiles")
                weight = np.outer(wy, _ramp(x0, x1, width, self.halo))[..., None]
                feed[self.input_name] = to_nchw(padded[y0:y1, x0:x1])
                if self._noise_pattern is not None:
                    feed.update(self._noise_pattern.cut(y0, y1, x0, x1))
                out = to_hwc(self.run_feed(feed, self.tile_session)[0])
                acc[y0:y1, x0:x1] += out * weight
                total[y0:y1, x0:x1] += weight
        acc /= total
        return acc

    def _norm_feed(self, padded: np.ndarray, limit: int) -> dict[str, np.ndarray]:
        """Per-channel multiplier and offset of each instance norm, from a whole-image pass."""
        height, width = padded.shape[:2]
        if height * width > limit:
            scale = math.sqrt(limit / (height * width))
            size = (max(MIN_SIDE, int(width * scale)), max(MIN_SIDE, int(height * scale)))
            padded = pad_to_multiple(cv2.resize(padded, size, interpolation=cv2.INTER_AREA),
                                     self.multiple)
        outs = self.run_feed({self.input_name: to_nchw(padded)}, self.stats_session)
        feed = {}
        for k, (scale_, bias, eps) in enumerate(self.norms):
            mean, var = outs[1 + 2 * k], outs[2 + 2 * k]  # (1, C, 1, 1) each
            mul = scale_.reshape(1, -1, 1, 1) / np.sqrt(var + eps)
            feed[f"norm{k}_mul"] = mul.astype(np.float32)
            feed[f"norm{k}_add"] = (bias.reshape(1, -1, 1, 1) - mean * mul).astype(np.float32)
        self._noise_pattern = NoisePattern(self.noise, outs[1 + 2 * len(self.norms):],
                                           padded.shape[0])
        return feed


def _with_norm_stats(model: onnx.ModelProto, noise: Noise) -> onnx.ModelProto:
    """A copy that also outputs each instance norm's input mean and variance, (1, C, 1, 1),
    then the ``noise`` channels."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    norms = [n for n in graph.node if n.op_type == "InstanceNormalization"]
    for k, node in enumerate(norms):
        x, mean, var = node.input[0], f"norm{k}_mean", f"norm{k}_var"
        graph.node.extend([  # GlobalAveragePool: the mean over H, W in every opset
            onnx.helper.make_node("GlobalAveragePool", [x], [mean]),
            onnx.helper.make_node("Sub", [x, mean], [f"d{k}"]),
            onnx.helper.make_node("Mul", [f"d{k}", f"d{k}"], [f"q{k}"]),
            onnx.helper.make_node("GlobalAveragePool", [f"q{k}"], [var]),
        ])
        graph.output.extend(
            onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in (mean, var)
        )
    return with_noise_outputs(out, noise)


def _with_fixed_norms(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose instance norms are ``x * norm{k}_mul + norm{k}_add`` with those as inputs."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    nodes = list(graph.node)
    del graph.node[:]
    k = 0
    for node in nodes:
        if node.op_type != "InstanceNormalization":
            graph.node.append(node)
            continue
        mul, add = f"norm{k}_mul", f"norm{k}_add"
        graph.node.extend([
            onnx.helper.make_node("Mul", [node.input[0], mul], [f"m{k}"]),
            onnx.helper.make_node("Add", [f"m{k}", add], [node.output[0]]),
        ])
        graph.input.extend(
            onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1, None, 1, 1])
            for n in (mul, add)
        )
        k += 1
    return out


def _spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """Tile intervals covering 0..length; starts stay on the size-multiple grid of the inputs."""
    if length <= tile:
        return [(0, length)]
    starts = list(range(0, length - tile, tile - overlap)) + [length - tile]
    return [(s, s + tile) for s in starts]


def _ramp(start: int, end: int, length: int, halo: int) -> np.ndarray:
    """1-D tile weight: 0 within ``halo`` of a cut edge, then a linear ramp over FEATHER px."""
    pos = np.arange(start, end, dtype=np.float32)
    weight = np.ones(end - start, np.float32)
    if start > 0:
        weight = np.minimum(weight, np.clip((pos - start - halo + 1) / (FEATHER + 1), 0, 1))
    if end < length:
        weight = np.minimum(weight, np.clip((end - 1 - pos - halo + 1) / (FEATHER + 1), 0, 1))
    return weight
