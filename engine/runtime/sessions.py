"""ONNX Runtime sessions as we run them: the settings we ship and the I/O-bound frame runner.

Shared by the stylizer (photos and live frames), the live path's folded-norm networks
(``engine.runtime.steady_norms``), the benchmark and the style checks.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort

from engine.errors import StudioError


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


class FrameRunner:
    """One session run on uint8 (H, W, 3) frames of one size through float buffers bound to
    it once (I/O binding: no allocation or copy by ONNX Runtime per frame)."""

    def __init__(self, session: ort.InferenceSession, height: int, width: int,
                 label: str | os.PathLike) -> None:
        self.size = (height, width)
        self._label = label
        self._in = np.empty((1, 3, height, width), np.float32)
        self._out = np.empty((1, 3, height, width), np.float32)
        self._binding = session.io_binding()
        self._binding.bind_cpu_input(session.get_inputs()[0].name, self._in)
        self._binding.bind_output(session.get_outputs()[0].name, "cpu", 0, np.float32,
                                  self._out.shape, self._out.ctypes.data)
        self._session = session

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        np.copyto(self._in[0], rgb.transpose(2, 0, 1))
        try:
            self._session.run_with_iobinding(self._binding)
        except Exception as exc:  # ORT raises its own types for shape errors
            height, width = self.size
            raise StudioError(
                f"{self._label}: the model failed on a {width}x{height} frame ({exc})"
            ) from None
        return to_uint8_hwc(self._out)


def to_uint8_hwc(out: np.ndarray) -> np.ndarray:
    """float32 (1, 3, H, W) network output (clipped in place) -> a new uint8 (H, W, 3)."""
    np.clip(out[0], 0, 255, out=out[0])
    return out[0].transpose(1, 2, 0).astype(np.uint8)
