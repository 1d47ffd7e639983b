"""Run a style model with ONNX Runtime: whole photos (any size, tiled when large) and webcam frames.

Images in and out are uint8 (H, W, 3) RGB. The network sees float32 (1, 3, H, W) 0..255 padded
to a multiple of the card's ``size_multiple``.

Tiling and instance norm: each instance-norm layer normalises with statistics of the whole
image, so a tile run on its own is normalised differently and seams show. We therefore run the
network twice: once on the whole image (downscaled if huge) to measure every instance-norm
layer's mean and variance, then tile by tile through a copy of the graph whose instance norms
use those fixed statistics. With fixed statistics the network is a local filter, so a tile is
exact wherever its receptive field stays inside it; overlaps cover that halo plus a linear
feather, and the tiled result matches the untiled one.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from engine.errors import BackendUnavailableError, ImageFormatError, StudioError
from engine.io.model_files import constant_tensors, open_onnx
from engine.models.config import ModelConfig

log = logging.getLogger(__name__)

# Execution providers worth using when present, best first; the CPU one is always added last.
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")
CPU = "CPUExecutionProvider"
ACTIVATION_BUDGET = 512 * 2**20  # bytes of float32 activations one run may use before we tile
LIVE_ACTIVATIONS = 4  # full-resolution activation buffers alive at once (measured order)
FEATHER = 32  # px of linear cross-fade between overlapping tiles
UNKNOWN_HALO = 96  # px of context for models whose receptive field we cannot compute
UNKNOWN_WIDTH = 32  # channels at full resolution assumed for models that are not ours
BAND_ROWS = 256  # rows per band in the final colour/strength pass
MIN_SIDE = 8  # px; reflection padding at 1/4 resolution needs at least 2 pixels there


class Stylizer:
    """One ONNX Runtime session for one style model, reused for every call.

    Safe to call from one worker thread at a time. ``threads`` sets ONNX Runtime's intra-op
    threads (None: its default, one per core); ``providers`` names execution providers
    (None: the best available, CPU last).
    """

    def __init__(
        self, model_path: str | os.PathLike, *, threads: int | None = None,
        providers: list[str] | None = None,
    ) -> None:
        self.path = Path(model_path)
        self._model, self.card = open_onnx(self.path, ours=False)
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise StudioError(f"threads must be a positive whole number, not {threads!r}")
        self._threads = threads
        self._providers = _choose_providers(providers)
        self._session = self._new_session(self._model)
        self.input_name = self._session.get_inputs()[0].name
        self.output_name = self._session.get_outputs()[0].name
        shape = self._session.get_inputs()[0].shape
        self._fixed_size = tuple(shape[2:]) if all(isinstance(d, int) for d in shape[2:]) else None
        self._tiler: _Tiler | None = None
        self._frame_in: np.ndarray | None = None
        self._frame_out: np.ndarray | None = None
        self._binding: ort.IOBinding | None = None

    @property
    def providers(self) -> list[str]:
        """The execution providers the session actually uses, in priority order."""
        return self._session.get_providers()

    @property
    def multiple(self) -> int:
        return max(1, self.card.size_multiple)

    def stylize(
        self, rgb: np.ndarray, *, strength: float = 1.0, preserve_colors: bool = False,
        max_size: int | None = None, tile_size: int | None = None,
    ) -> np.ndarray:
        """Stylise a uint8 (H, W, 3) RGB image; returns uint8 (H, W, 3), the input size.

        ``strength`` 0..1 blends with the original (0 returns it unchanged). ``preserve_colors``
        keeps the original chroma and takes only luminance from the style. ``max_size`` runs the
        network at most at that long side (bigger strokes, faster) and scales back up.
        ``tile_size`` forces tiles of that side; None tiles only images too large for memory.
        """
        _check_rgb(rgb)
        if not 0.0 <= strength <= 1.0:
            raise StudioError(f"strength must be between 0 and 1, not {strength}")
        if max_size is not None and max_size < MIN_SIDE:
            raise StudioError(f"max_size must be at least {MIN_SIDE} px, not {max_size}")
        if strength == 0.0:
            return rgb.copy()
        height, width = rgb.shape[:2]
        out = self._stylize_float(_fit(rgb, max_size), tile_size)
        if out.shape[:2] != (height, width):
            out = cv2.resize(out, (width, height), interpolation=cv2.INTER_CUBIC)
        result = np.empty_like(rgb)
        for y in range(0, height, BAND_ROWS):  # bands keep float temporaries small
            rows = slice(y, y + BAND_ROWS)
            result[rows] = _finish(out[rows], rgb[rows], strength, preserve_colors)
        return result

    def run_frame(self, rgb: np.ndarray) -> np.ndarray:
        """Webcam fast path: no resize, no padding, buffers reused between frames.

        The caller guarantees H and W are multiples of ``size_multiple`` (and the model's fixed
        size, if it has one). Returns a new uint8 (H, W, 3) array.
        """
        _check_rgb(rgb)
        height, width = rgb.shape[:2]
        if height % self.multiple or width % self.multiple or height < MIN_SIDE \
                or width < MIN_SIDE:
            raise ImageFormatError(
                f"frame of {width}x{height} px: sides must be multiples of {self.multiple}"
            )
        if self._frame_in is None or self._frame_in.shape[2:] != (height, width):
            self._bind_frame_buffers(height, width)
        assert self._frame_in is not None and self._frame_out is not None
        np.copyto(self._frame_in[0], rgb.transpose(2, 0, 1))
        try:
            self._session.run_with_iobinding(self._binding)
        except Exception as exc:  # ORT raises its own types for shape errors
            raise StudioError(
                f"{self.path}: the model failed on a {width}x{height} frame ({exc})"
            ) from None
        out = self._frame_out[0]
        np.clip(out, 0, 255, out=out)
        return out.transpose(1, 2, 0).astype(np.uint8)

    def _bind_frame_buffers(self, height: int, width: int) -> None:
        self._frame_in = np.empty((1, 3, height, width), np.float32)
        self._frame_out = np.empty((1, 3, height, width), np.float32)
        binding = self._session.io_binding()
        binding.bind_cpu_input(self.input_name, self._frame_in)
        binding.bind_output(self.output_name, "cpu", 0, np.float32, self._frame_out.shape,
                            self._frame_out.ctypes.data)
        self._binding = binding

    def _new_session(self, model: onnx.ModelProto, *, arena: bool = True,
                     ) -> ort.InferenceSession:
        """A session; ``arena=False`` returns memory after each run (for big, rare runs)."""
        options = session_options(self._threads, model, arena)
        try:
            return ort.InferenceSession(model.SerializeToString(), options,
                                        providers=self._providers)
        except Exception as exc:  # ORT raises its own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StudioError(f"{self.path}: ONNX Runtime cannot load it ({first})") from None

    def _run(self, feed: dict[str, np.ndarray], session: ort.InferenceSession | None = None,
             ) -> list[np.ndarray]:
        try:
            return (session or self._session).run(None, feed)
        except Exception as exc:
            shape = feed[self.input_name].shape
            raise StudioError(f"{self.path}: the model failed on a {shape} input ({exc})") \
                from None

    def _stylize_float(self, rgb: np.ndarray, tile_size: int | None) -> np.ndarray:
        """float32 (H, W, 3) 0..255 network output at the size of ``rgb``."""
        height, width = rgb.shape[:2]
        if self._fixed_size is not None:
            fixed_h, fixed_w = self._fixed_size
            resized = cv2.resize(rgb, (fixed_w, fixed_h), interpolation=cv2.INTER_AREA)
            out = _to_hwc(self._run({self.input_name: _to_nchw(resized)})[0])
            return cv2.resize(out, (width, height), interpolation=cv2.INTER_CUBIC)
        padded = _pad(rgb, self.multiple)
        pixels = padded.shape[0] * padded.shape[1]
        auto = tile_size is None and pixels > self._max_pixels()
        if auto or (tile_size is not None and max(padded.shape[:2]) > tile_size):
            tile = tile_size or _round_down(math.isqrt(self._max_pixels()), self.multiple)
            if self._tiler is None:
                self._tiler = _Tiler(self)
            out = self._tiler.run(padded, tile)
        else:
            out = _to_hwc(self._run({self.input_name: _to_nchw(padded)})[0])
        return out[:height, :width]

    def _max_pixels(self) -> int:
        """Pixels one untiled run may have within ACTIVATION_BUDGET."""
        config = self._config()
        width = config.channels[0] if config else UNKNOWN_WIDTH
        return ACTIVATION_BUDGET // (4 * width * LIVE_ACTIVATIONS)

    def _config(self) -> ModelConfig | None:
        return ModelConfig.from_dict(self.card.model_config) if self.card.model_config else None


class _Tiler:
    """Tiled inference with instance-norm statistics fixed from a whole-image pass."""

    def __init__(self, stylizer: Stylizer) -> None:
        self.owner = stylizer
        config = stylizer._config()
        johnson = config is not None and getattr(config, "design", "johnson") == "johnson"
        self.halo = _halo(config, stylizer.multiple) if johnson else UNKNOWN_HALO
        norms = [n for n in stylizer._model.graph.node if n.op_type == "InstanceNormalization"]
        consts = constant_tensors(stylizer._model)
        self.norms = []  # (scale, bias, epsilon) per instance norm, graph order
        for node in norms:
            eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
            self.norms.append((consts.get(node.input[1]), consts.get(node.input[2]), eps))
        self.fixed = bool(norms) and all(s is not None and b is not None for s, b, _ in self.norms)
        if norms and not self.fixed:
            log.warning("%s: instance-norm parameters are not constants; tiles may show seams",
                        stylizer.path)
        if self.fixed:
            self.stats_session = stylizer._new_session(_with_norm_stats(stylizer._model),
                                                       arena=False)
            self.tile_session = stylizer._new_session(_with_fixed_norms(stylizer._model),
                                                      arena=False)

    def run(self, padded: np.ndarray, tile: int) -> np.ndarray:
        """float32 (H, W, 3) output for a padded uint8 (H, W, 3) image, tile by tile."""
        m = self.owner.multiple
        overlap = _round_up(2 * self.halo + FEATHER, m)
        tile = max(_round_down(tile, m), 2 * overlap)
        feed = self._norm_feed(padded) if self.fixed else {}
        session = self.tile_session if self.fixed else self.owner._session
        height, width = padded.shape[:2]
        acc = np.zeros((height, width, 3), np.float32)
        total = np.zeros((height, width, 1), np.float32)
        for y0, y1 in _spans(height, tile, overlap):
            wy = _ramp(y0, y1, height, self.halo)
            for x0, x1 in _spans(width, tile, overlap):
                weight = np.outer(wy, _ramp(x0, x1, width, self.halo))[..., None]
                feed[self.owner.input_name] = _to_nchw(padded[y0:y1, x0:x1])
                out = _to_hwc(self.owner._run(feed, session)[0])
                acc[y0:y1, x0:x1] += out * weight
                total[y0:y1, x0:x1] += weight
        acc /= total
        return acc

    def _norm_feed(self, padded: np.ndarray) -> dict[str, np.ndarray]:
        """Per-channel multiplier and offset of each instance norm, from a whole-image pass."""
        m = self.owner.multiple
        limit = self.owner._max_pixels()
        height, width = padded.shape[:2]
        if height * width > limit:
            scale = math.sqrt(limit / (height * width))
            size = (max(MIN_SIDE, int(width * scale)), max(MIN_SIDE, int(height * scale)))
            padded = _pad(cv2.resize(padded, size, interpolation=cv2.INTER_AREA), m)
        outs = self.owner._run({self.owner.input_name: _to_nchw(padded)}, self.stats_session)
        feed = {}
        for k, (scale_, bias, eps) in enumerate(self.norms):
            mean, var = outs[1 + 2 * k], outs[2 + 2 * k]  # (1, C, 1, 1) each
            mul = scale_.reshape(1, -1, 1, 1) / np.sqrt(var + eps)
            feed[f"norm{k}_mul"] = mul.astype(np.float32)
            feed[f"norm{k}_add"] = (bias.reshape(1, -1, 1, 1) - mean * mul).astype(np.float32)
        return feed


def _with_norm_stats(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy that also outputs each instance norm's input mean and variance, (1, C, 1, 1)."""
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
    return out


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


def _halo(config: ModelConfig, multiple: int) -> int:
    """Receptive-field radius in input pixels (+ alignment slack): how far a tile edge reaches.

    First and last convs at 1x; stride-2 convs at 1x and 1/2x input; residual convs at 1/4x;
    the two upsampling convs at 1/2x and 1x.
    """
    outer, inner = config.outer_kernel // 2, config.inner_kernel // 2
    radius = 2 * outer + inner * (1 + 2) + config.residual_blocks * 2 * inner * 4 + inner * (2 + 1)
    return radius + 2 * multiple


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


def _check_rgb(rgb: object) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 \
            or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        desc = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ImageFormatError(f"expected a uint8 (H, W, 3) RGB image, got {desc}")


def _fit(rgb: np.ndarray, max_size: int | None) -> np.ndarray:
    """Downscale so the long side is at most ``max_size`` (area filter: no aliasing)."""
    height, width = rgb.shape[:2]
    if max_size is None or max(height, width) <= max_size:
        return rgb
    scale = max_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _pad(rgb: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad bottom and right up to a multiple of ``multiple`` (and at least MIN_SIDE)."""
    height, width = rgb.shape[:2]
    pad_h = max(_round_up(height, multiple), MIN_SIDE) - height
    pad_w = max(_round_up(width, multiple), MIN_SIDE) - width
    if not pad_h and not pad_w:
        return rgb
    return np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")


def _finish(stylized: np.ndarray, rgb: np.ndarray, strength: float, preserve_colors: bool,
            ) -> np.ndarray:
    """Colour transfer and strength blend of float network output, rounded to uint8."""
    original = rgb.astype(np.float32)
    if preserve_colors:
        out = _luminance_transfer(stylized, original)
    else:
        out = np.array(stylized, np.float32)
    if strength < 1.0:
        out -= original
        out *= strength
        out += original
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def _luminance_transfer(stylized: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Original colours with the stylised luminance (BT.601 Y, as in YCbCr).

    Adding the same amount to R, G and B moves Y by that amount and leaves Cb and Cr (both
    differences from Y) unchanged, so this is exactly "Y from the style, CbCr from the photo".
    """
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    delta = stylized @ luma - original @ luma
    return original + delta[..., None]


def _to_nchw(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (1, 3, H, W), one copy."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)


def _to_hwc(out: np.ndarray) -> np.ndarray:
    """float32 (1, 3, H, W) -> (H, W, 3) view."""
    return out[0].transpose(1, 2, 0)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _round_down(value: int, multiple: int) -> int:
    return max(multiple, value // multiple * multiple)


def session_options(threads: int | None, model: onnx.ModelProto, arena: bool = True,
                    ) -> ort.SessionOptions:
    """The ONNX Runtime settings we ship (the benchmark uses them too).

    Every graph optimisation (the NCHWc layout transform runs convs whose channel counts are
    multiples of 8 without padding); one intra-op pool and no inter-op pool, because these
    graphs are a single chain.
    """
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = arena
    options.enable_mem_pattern = arena
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    ops = {node.op_type for node in model.graph.node}
    if "DequantizeLinear" in ops and "QuantizeLinear" not in ops:
        # Weight-only int8 (our export): let constant folding turn the kernels back into float
        # once at load, so the graph is the float one (same speed, NCHWc layouts still apply).
        options.add_session_config_entry("session.disable_quant_qdq", "1")
    return options


def _choose_providers(requested: list[str] | None) -> list[str]:
    available = ort.get_available_providers()
    if requested is None:
        return [p for p in PREFERRED_PROVIDERS if p in available] + [CPU]
    missing = [p for p in requested if p not in available]
    if missing:
        raise BackendUnavailableError(
            f"ONNX Runtime execution provider not available: {', '.join(missing)}",
            hint=f"available here: {', '.join(available)}",
        )
    return list(requested) + ([CPU] if CPU not in requested else [])

