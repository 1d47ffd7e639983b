"""A stream's instance-norm statistics, measured every few frames, smoothed over frames and
folded into the convs: the network the live path runs.

Instance norm measures each channel's mean and spread afresh on every frame. For a live stream
that is slow and unsteady. Slow: the norm ops, and the layout changes ONNX Runtime makes around
them (its blocked NCHWc convs cannot hand a tensor to a norm directly), were ~30% of a 640x480
frame on a 2-core machine. Unsteady: the statistics follow sensor noise and whatever enters the
frame, and the tone of the whole picture moves with them. A norm with fixed statistics is an
affine map per channel, the same form as the conv before it, so it folds into that conv's
weights and bias. ``SteadyNorms`` measures the statistics on a frame now and then (the exact
network runs it), keeps a running average, and runs the other frames through a copy of the
network with the average folded in.
"""

from __future__ import annotations

import functools
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from engine.errors import StudioError
from engine.runtime.arrays import to_nchw
from engine.runtime.noise_inputs import (
    NoisePattern,
    noise_channels,
    with_noise_inputs,
    with_noise_outputs,
)
from engine.runtime.sessions import (
    FixedInputs,
    FrameRunner,
    SplitFrameRunner,
    frame_runner,
    session_options,
    to_uint8_hwc,
)

REFRESH_FRAMES = 60  # measure at least every 60th frame: once a second at 60 fps ...
SMOOTHING = 0.5  # ... and average it in with this weight
DRIFT_LEVELS = 8.0  # grey levels a channel's mean or spread may move before measuring at once
DRIFT_GAP = 10  # frames between two such measurements at least (a pan must not measure each)
NORM = "InstanceNormalization"

Moments = tuple[np.ndarray, np.ndarray]  # one norm's per-channel mean and variance of its input


def float_graph(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with its constant parts computed once (our int8 weights' dequantisation), as
    plain float ONNX: ONNX Runtime's basic graph optimisations, saved."""
    options = session_options(1, model)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with tempfile.TemporaryDirectory() as folder:
        options.optimized_model_filepath = str(Path(folder) / "float.onnx")
        ort.InferenceSession(model.SerializeToString(), options,
                             providers=["CPUExecutionProvider"])
        return onnx.load(options.optimized_model_filepath)


class FoldableNetwork:
    """A float network in which every instance norm follows a conv that feeds only that norm,
    with constant weights: the two variants ``SteadyNorms`` runs are made from it. ``noise``:
    its fixed noise channels (``engine.runtime.noise_inputs``), which the folded one takes as
    inputs so that it can run in parts."""

    def __init__(self, model: onnx.ModelProto, norms: list[onnx.NodeProto]) -> None:
        self._model, self._norms = model, norms
        self.noise = noise_channels(model)

    @classmethod
    def of(cls, model: onnx.ModelProto) -> FoldableNetwork | None:
        """The network of ``model`` (a ``float_graph``), or None if its norms cannot fold."""
        nodes = model.graph.node
        producer = {name: node for node in nodes for name in node.output}
        readers = Counter(name for node in nodes for name in node.input)
        constants = {tensor.name for tensor in model.graph.initializer}
        norms = [node for node in nodes if node.op_type == NORM]
        for norm in norms:
            conv = producer.get(norm.input[0])
            if conv is None or conv.op_type != "Conv" or readers[norm.input[0]] != 1 \
                    or not {*conv.input[1:], *norm.input[1:]} <= constants:
                return None
        return cls(model, norms) if norms else None

    def measuring(self) -> onnx.ModelProto:
        """The network as it is, plus each norm input's per-channel mean and mean square as
        outputs (1, C, 1, 1), in the order of the norms, then the noise channels it drew."""
        model = onnx.ModelProto()
        model.CopyFrom(self._model)
        for index, norm in enumerate(self._norms):
            features, squared = norm.input[0], f"norm{index}_squared"
            mean, mean_square = f"norm{index}_mean", f"norm{index}_mean_square"
            model.graph.node.extend([
                onnx.helper.make_node("GlobalAveragePool", [features], [mean]),
                onnx.helper.make_node("Mul", [features, features], [squared]),
                onnx.helper.make_node("GlobalAveragePool", [squared], [mean_square]),
            ])
            model.graph.output.extend(
                onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                for name in (mean, mean_square))
        return with_noise_outputs(model, self.noise)

    def folded(self, moments: list[Moments]) -> onnx.ModelProto:
        """The network with each norm's statistics fixed to ``moments`` and folded into its
        conv: w' = w * s and b' = (b - mean) * s + beta per output channel, where
        s = gamma / sqrt(variance + epsilon). The noise channels are inputs (1, 1, H, W)."""
        model = onnx.ModelProto()
        model.CopyFrom(self._model)
        graph = model.graph
        weights = {tensor.name: tensor for tensor in graph.initializer}
        producer = {name: node for node in graph.node for name in node.output}
        for norm, (mean, variance) in zip(self._norms, moments, strict=True):
            conv = producer[norm.input[0]]
            gamma, beta = (numpy_helper.to_array(weights[name]) for name in norm.input[1:3])
            epsilon = next((a.f for a in norm.attribute if a.name == "epsilon"), 1e-5)
            scale = gamma / np.sqrt(variance + epsilon)
            kernel = numpy_helper.to_array(weights[conv.input[1]])
            bias = (numpy_helper.to_array(weights[conv.input[2]]) if len(conv.input) > 2
                    else np.zeros(kernel.shape[0], np.float32))
            names = (f"{norm.output[0]}_folded_kernel", f"{norm.output[0]}_folded_bias")
            graph.initializer.extend([
                numpy_helper.from_array((kernel * scale[:, None, None, None]).astype(np.float32),
                                        names[0]),
                numpy_helper.from_array(((bias - mean) * scale + beta).astype(np.float32),
                                        names[1]),
            ])
            del conv.input[1:]
            conv.input.extend(names)
            conv.output[0] = norm.output[0]  # the conv now writes what the norm wrote
        kept = [node for node in graph.node if node.op_type != NORM]
        del graph.node[:]
        graph.node.extend(kept)
        read = {name for node in graph.node for name in node.input}
        used = [tensor for tensor in graph.initializer if tensor.name in read]
        del graph.initializer[:]
        graph.initializer.extend(used)
        return with_noise_inputs(model, self.noise)


class SteadyNorms:
    """One stream's network: the exact one on the frames that measure the norms' statistics,
    the network with their running average folded in on the others. Call it with each uint8
    (H, W, 3) RGB frame (sides the network accepts); a frame of a new size starts afresh.

    A frame is measured at least every ``refresh_frames`` frames, its statistics averaged in
    with weight ``smoothing``; and at once when the picture itself changed (a channel's mean
    or spread moved by ``DRIFT_LEVELS`` since the last measurement: a new scene, the lights;
    at most every ``DRIFT_GAP`` frames, so a moving camera does not measure every frame), its
    statistics then taken as they are. Why not more often: a measurement costs the exact
    network (~22 ms at 640x480 on a 2-core machine) plus a new folded session (~6 ms to build,
    its first run ~5 ms slower), where a folded frame takes ~10. Built on the same thread: a
    helper thread only moved that cost onto the next frames (both cores are busy), and made
    the output depend on timing.

    The folded network has no op that sees the whole frame, so it runs as two pieces side by
    side on one thread each (``SplitFrameRunner``), each ``halo`` px (the receptive radius)
    past the cut; pieces have sides in steps of ``multiple``. ``halo`` None: whole frames.
    Noise channels, which each piece would draw from its own corner, are inputs of the folded
    network: each piece is fed the whole frame's noise where it lies.
    """

    def __init__(self, network: FoldableNetwork,
                 new_session: Callable[..., ort.InferenceSession], label: str | Path, *,
                 halo: int | None, multiple: int, refresh_frames: int = REFRESH_FRAMES,
                 smoothing: float = SMOOTHING) -> None:
        self._network, self._new_session, self._label = network, new_session, label
        self._halo, self._multiple = halo, multiple
        self._refresh_frames, self._smoothing = refresh_frames, smoothing
        self._measuring = new_session(network.measuring())
        self._input = self._measuring.get_inputs()[0].name
        self._moments: list[Moments] | None = None
        self._folded: FrameRunner | SplitFrameRunner | None = None
        self._noise: FixedInputs | None = None  # the folded network's, at the folded size
        self._picture: np.ndarray | None = None  # the measured frame's channel means, spreads
        self._since_measured = 0
        self.measured = 0  # frames the exact network ran, for tests and the curious

    @property
    def pieces(self) -> int:
        """How many pieces the folded network runs each frame as (0 before the first frame)."""
        if self._folded is None:
            return 0
        return 2 if isinstance(self._folded, SplitFrameRunner) else 1

    @property
    def moments(self) -> list[Moments] | None:
        """The running average folded in now: per norm, (mean, variance) per channel."""
        return self._moments

    def reset(self) -> None:
        """A new stream: forget the statistics (the next frame is measured)."""
        self._moments = self._folded = None

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if self._folded is None or self._folded.size != rgb.shape[:2] \
                or (self._since_measured + 1 >= DRIFT_GAP
                    and np.abs(_picture(rgb) - self._picture).max() >= DRIFT_LEVELS):
            self._moments = None  # a new stream, or a new picture: start from this frame
        if self._moments is None or self._since_measured + 1 >= self._refresh_frames:
            self._picture = _picture(rgb)
            return self._measure(rgb)
        self._since_measured += 1
        return self._folded(rgb)

    def _measure(self, rgb: np.ndarray) -> np.ndarray:
        """The exact network's frame; its statistics go into the running average, and the
        network with the new average folded in runs the next frames."""
        height, width = rgb.shape[:2]
        try:
            image, *outputs = self._measuring.run(None, {self._input: to_nchw(rgb)})
        except Exception as exc:  # ORT raises its own types for shape errors
            raise StudioError(
                f"{self._label}: the model failed on a {width}x{height} frame ({exc})"
            ) from None
        noise = self._network.noise
        split = len(outputs) - len(noise)
        stats, drawn = outputs[:split], outputs[split:]
        if noise and (self._folded is None or self._folded.size != (height, width)):
            # the pieces' noise is fixed for a size: cut once, for every folded network after
            self._noise = functools.cache(NoisePattern(noise, drawn, height).cut)
        measured = []
        for mean, mean_square in zip(stats[::2], stats[1::2], strict=True):
            mean, mean_square = mean.reshape(-1), mean_square.reshape(-1)
            measured.append((mean, np.maximum(mean_square - mean * mean, 0.0)))
        if self._moments is None:
            self._moments = measured
        else:
            keep = 1.0 - self._smoothing
            self._moments = [(keep * old_mean + self._smoothing * mean,
                              keep * old_var + self._smoothing * var)
                             for (old_mean, old_var), (mean, var)
                             in zip(self._moments, measured, strict=True)]
        session = self._new_session(self._network.folded(self._moments), threads=1)
        self._folded = frame_runner(session, height, width, self._label, halo=self._halo,
                                    multiple=self._multiple, fixed=self._noise)
        self._since_measured = 0
        self.measured += 1
        return to_uint8_hwc(image)


def _picture(rgb: np.ndarray) -> np.ndarray:
    """What drift is measured on: the frame's per-channel means and spreads, in grey levels."""
    return np.concatenate(cv2.meanStdDev(rgb)).ravel()
