"""ONNX Runtime sessions as we run them: the settings we ship and the I/O-bound frame runners.

Shared by the stylizer (photos and live frames), the live path's folded-norm networks
(``engine.runtime.steady_norms``), the benchmark and the style checks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from engine.errors import StudioError
from engine.runtime.arrays import round_up

# The network's inputs besides the frame for the frame's rows y0:y1, columns x0:x1 run on their
# own (its noise channels, ``engine.runtime.noise_inputs``): fixed for a size, so bound once.
FixedInputs = Callable[[int, int, int, int], dict[str, np.ndarray]]


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
    it once (I/O binding: no allocation or copy by ONNX Runtime per frame). ``fixed``: the
    session's other inputs, the same for every frame (bound once too)."""

    def __init__(self, session: ort.InferenceSession, height: int, width: int,
                 label: str | os.PathLike, fixed: dict[str, np.ndarray] | None = None) -> None:
        self.size = (height, width)
        self._label = label
        self._in = np.empty((1, 3, height, width), np.float32)
        self._out = np.empty((1, 3, height, width), np.float32)
        self._fixed = fixed or {}  # bound by address: kept alive with the binding
        self._binding = session.io_binding()
        self._binding.bind_cpu_input(session.get_inputs()[0].name, self._in)
        for name, array in self._fixed.items():
            self._binding.bind_cpu_input(name, array)
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


# Split a frame only if each piece, halo included, is at most this share of it: beyond that
# the halo's extra work eats what running the pieces side by side gains.
MAX_PIECE_SHARE = 0.75
# Runs the second pieces, for every stream (its thread starts with the first piece).
_helper = ThreadPoolExecutor(1, thread_name_prefix="tinystyle-piece")


def frame_runner(session: ort.InferenceSession, height: int, width: int,
                 label: str | os.PathLike, *, halo: int | None, multiple: int,
                 fixed: FixedInputs | None = None) -> FrameRunner | SplitFrameRunner:
    """``SplitFrameRunner`` where the frame is large enough to gain from it, else a
    ``FrameRunner``. ``session`` runs a local network (see ``SplitFrameRunner``) whose other
    inputs ``fixed`` gives; ``halo`` None runs every frame whole (on one core)."""
    halo = None if halo is None else round_up(halo, multiple)
    long_side = max(height, width)
    if halo is None or long_side // 2 + halo > MAX_PIECE_SHARE * long_side:
        return FrameRunner(session, height, width, label,
                           None if fixed is None else fixed(0, height, 0, width))
    return SplitFrameRunner(session, height, width, label, halo=halo, multiple=multiple,
                            fixed=fixed)


class SplitFrameRunner:
    """A local network (no op that sees the whole frame: norms folded into the convs) run on
    two halves of each frame at once, one on the calling thread and one on a helper thread.
    ``session`` should use one thread.

    Why: ONNX Runtime's own split of these small convs over two threads gains little and
    varies (640x480 folded Great Wave: median 11.2 ms, a tenth of frames over 20 ms; 13.5 on
    one thread), while two one-thread runs on halves take 9.8. Each piece reaches ``halo`` px
    (a multiple of ``multiple``, at least the network's receptive radius) past the middle, so
    the joined frame is the whole one's. The cut runs across the longer side. ``fixed`` gives
    each piece the session's other inputs for the part of the frame it covers.
    """

    def __init__(self, session: ort.InferenceSession, height: int, width: int,
                 label: str | os.PathLike, *, halo: int, multiple: int,
                 fixed: FixedInputs | None = None) -> None:
        self.size = (height, width)
        self._axis = 0 if height >= width else 1  # 0: top and bottom, 1: left and right
        side = self.size[self._axis]
        self._cut = side // 2 // multiple * multiple
        self._second_from = max(0, self._cut - halo)
        piece = side - self._second_from  # both pieces this long (the first from 0)
        shape = (piece, width) if self._axis == 0 else (height, piece)
        self._first, self._second = (
            FrameRunner(session, *shape, label,
                        None if fixed is None else fixed(*self._bounds(start, start + piece)))
            for start in (0, self._second_from))
        self._piece = piece

    def _bounds(self, start: int, stop: int) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) of the piece of rows (or columns) ``start:stop``."""
        height, width = self.size
        return (start, stop, 0, width) if self._axis == 0 else (0, height, start, stop)

    def _span(self, start: int | None, stop: int | None) -> tuple[slice, ...]:
        """Index of rows (or columns) ``start:stop``."""
        return (slice(None),) * self._axis + (slice(start, stop),)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        second = _helper.submit(self._second, rgb[self._span(self._second_from, None)])
        first = self._first(rgb[self._span(None, self._piece)])
        return np.concatenate([first[self._span(None, self._cut)],
                               second.result()[self._span(self._cut - self._second_from, None)]],
                              axis=self._axis)


def to_uint8_hwc(out: np.ndarray) -> np.ndarray:
    """float32 (1, 3, H, W) network output (clipped in place) -> a new uint8 (H, W, 3).

    Contiguous: a transposed view converted as it is stays planar underneath, and every cv2
    call after it (the guard, the steadying blend, the display's resize) then copies it first
    (a grey conversion of a 640x480 frame: 1.05 ms instead of 0.10); ``cv2.merge`` of the
    converted planes costs 0.21 ms against 0.17."""
    np.clip(out[0], 0, 255, out=out[0])
    return cv2.merge([plane.astype(np.uint8) for plane in out[0]])
