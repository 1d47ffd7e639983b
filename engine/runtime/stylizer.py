"""Run a style model with ONNX Runtime: whole photos (any size, tiled when large) and webcam frames.

Images in and out are uint8 (H, W, 3) RGB. The network sees float32 (1, 3, H, W) 0..255 padded
to a multiple of the card's ``size_multiple``. Images too large for ``ACTIVATION_BUDGET`` run
tile by tile (``engine.runtime.tiling``).

A network's strokes have a fixed size in *its* pixels, so a photo run at full size looks subtler
the more pixels it has. Photos are therefore run at a working size set by the stroke size alone
(``working_size``), then resized back: the strokes are the same share of the frame at any size.
"""

from __future__ import annotations

import logging
import math
import os
from numbers import Real
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from engine.errors import (
    BackendUnavailableError,
    ImageFormatError,
    ModelLoadError,
    StudioError,
    first_line,
)
from engine.io.model_files import open_onnx
from engine.models.config import ModelConfig
from engine.progress import Progress, no_progress
from engine.runtime.arrays import (
    BT601_LUMA,
    MIN_SIDE,
    pad_to_multiple,
    round_down,
    round_up,
    to_hwc,
    to_nchw,
)
from engine.runtime.dark_guard import DarkGuard
from engine.runtime.sessions import FrameRunner, session_options
from engine.runtime.steady_norms import FoldableNetwork, SteadyNorms, float_graph
from engine.runtime.tiling import Tiler, halo

log = logging.getLogger(__name__)

# Execution providers worth using when present, best first; the CPU one is always added last.
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")
CPU = "CPUExecutionProvider"
ACTIVATION_BUDGET = 512 * 2**20  # bytes of float32 activations one run may use before we tile
LIVE_ACTIVATIONS = 4  # full-resolution activation buffers alive at once (measured order)
UNKNOWN_WIDTH = 32  # channels at full resolution assumed for models that are not ours
BAND_ROWS = 256  # rows per band in the final colour/strength pass
# Working long side at stroke size 1. The styles were trained on crops of photos whose short side
# was 256..512 px, so 512 px photos show the painting's own scale, which reads as coarse on a
# screen; 1024 px keeps the strokes clearly visible yet lets a face or a building read as such.
BASE_WORKING_SIDE = 1024
STROKE_SIZES = (0.25, 4.0)  # accepted stroke sizes: working long sides of 4096 down to 256 px
MIN_SHORT_SHARE = 0.5  # a panorama's working short side stays >= this share of the base side...
MAX_LONG_SHARE = 3.0  # ...unless its long side would exceed this many base sides (a thin strip)


class Stylizer:
    """One ONNX Runtime session for one style model, reused for every call.

    Safe to call from one worker thread at a time. ``threads`` sets ONNX Runtime's intra-op
    threads (None: its default, one per core); ``providers`` names execution providers
    (None: the best available, CPU last).
    """

    def __init__(
        self, model_path: str | os.PathLike, *, threads: int | None = None,
        providers: list[str] | None = None, dark_guard: bool = True,
    ) -> None:
        self.path = Path(model_path)
        self._model, self.card = open_onnx(self.path, ours=False)
        # False: the network's own output in near-black areas (for measuring the network)
        self._dark_guard = DarkGuard.of_card(self.card) if dark_guard else None
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise StudioError(f"threads must be a positive whole number, not {threads!r}")
        self._threads = threads
        self._providers = _choose_providers(providers)
        self._session = self.new_session(self._model)
        self.input_name = self._session.get_inputs()[0].name
        self.output_name = self._session.get_outputs()[0].name
        shape = self._session.get_inputs()[0].shape
        self._fixed_size = tuple(shape[2:]) if all(isinstance(d, int) for d in shape[2:]) else None
        self._tiler: Tiler | None = None
        self._frames: FrameRunner | None = None
        self._foldable: FoldableNetwork | None | bool = None  # False: cannot be folded

    @property
    def providers(self) -> list[str]:
        """The execution providers the session actually uses, in priority order."""
        return self._session.get_providers()

    @property
    def accepts_any_size(self) -> bool:
        """False for foreign models with a fixed input size (they run resized)."""
        return self._fixed_size is None

    @property
    def multiple(self) -> int:
        return max(1, self.card.size_multiple)

    def stylize(
        self, rgb: np.ndarray, *, strength: float = 1.0, preserve_colors: bool = False,
        stroke_size: float | None = None, max_size: int | None = None,
        tile_size: int | None = None, progress: Progress = no_progress,
    ) -> np.ndarray:
        """Stylise a uint8 (H, W, 3) RGB image; returns uint8 (H, W, 3), the input size.

        ``strength`` 0..1 blends with the original (0 returns it unchanged). ``preserve_colors``
        keeps the original chroma and takes only luminance from the style; both apply at full
        size. ``stroke_size`` (photos; bigger is coarser) runs the network at
        ``working_size``, up or down, so the look does not depend on the pixel count.
        ``max_size`` (video streams: speed) only caps the network's long side. With neither,
        the network runs at the image's own size, and its output there gets the card's
        near-black guard (``keep_darks``). ``tile_size`` forces tiles of that side;
        None tiles only images too large for memory. ``progress`` is called between tiles and
        may raise ``Cancelled`` to stop there.
        """
        _check_rgb(rgb)
        if not 0.0 <= strength <= 1.0:
            raise StudioError(f"strength must be between 0 and 1, not {strength}")
        if stroke_size is not None and max_size is not None:
            raise StudioError("give a stroke size or a maximum size, not both")
        if stroke_size is not None:
            check_stroke_size(stroke_size)
        if max_size is not None and max_size < MIN_SIDE:
            raise StudioError(f"max_size must be at least {MIN_SIDE} px, not {max_size}")
        if strength == 0.0:
            return rgb.copy()
        height, width = rgb.shape[:2]
        seen = self._network_input(rgb, stroke_size, max_size)
        out = resize(self.keep_darks(self._stylize_float(seen, tile_size, progress), seen),
                     height, width)
        result = np.empty_like(rgb)
        for y in range(0, height, BAND_ROWS):  # bands keep float temporaries small
            rows = slice(y, y + BAND_ROWS)
            result[rows] = _finish(out[rows], rgb[rows], strength, preserve_colors)
        return result

    def _network_input(self, rgb: np.ndarray, stroke_size: float | None, max_size: int | None,
                       ) -> np.ndarray:
        """``rgb`` resized to the size the network should see (fixed-size models: unchanged,
        ``_stylize_float`` fits them itself)."""
        height, width = rgb.shape[:2]
        if self._fixed_size is not None:
            return rgb
        if stroke_size is not None:
            return resize(rgb, *working_size(height, width, stroke_size, self.multiple))
        if max_size is not None and max(height, width) > max_size:
            scale = max_size / max(height, width)
            return resize(rgb, max(1, round(height * scale)), max(1, round(width * scale)))
        return rgb

    def keep_darks(self, out: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        """``out``, the network's output for ``rgb`` (same size), with ``rgb``'s near-black
        areas kept dark as the card asks (``engine.runtime.dark_guard``); ``out`` itself if it
        asks for nothing or nothing changes."""
        return out if self._dark_guard is None else self._dark_guard(out, rgb)

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
        if self._frames is None or self._frames.size != (height, width):
            self._frames = FrameRunner(self._session, height, width, self.path)
        return self._frames(rgb)

    def steady_norms(self) -> SteadyNorms | None:
        """A new stream's network with smoothed, folded norm statistics (``steady_norms``);
        None for a model whose norms cannot be folded."""
        if self._foldable is False:
            return None
        try:
            if self._foldable is None:
                self._foldable = FoldableNetwork.of(float_graph(self._model)) or False
            if not self._foldable:
                return None
            # two pieces on two cores, unless this stylizer was asked for one thread
            overlap = None if self._threads == 1 else halo(self._config(), self.multiple)
            return SteadyNorms(self._foldable, self.new_session, self.path, halo=overlap,
                               multiple=self.multiple)
        except Exception:  # ORT's own types: a model we cannot rewrite still runs as it is
            log.warning("%s: its norms cannot be folded; live frames run it as it is",
                        self.path, exc_info=True)
            self._foldable = False
            return None

    def new_session(self, model: onnx.ModelProto, *, arena: bool = True,
                    threads: int | None = None) -> ort.InferenceSession:
        """A session of ``model`` (this style's network or a variant of it) with our settings;
        ``arena=False`` returns memory after each run (for big, rare runs); ``threads``
        overrides this stylizer's thread count."""
        options = session_options(threads or self._threads, model, arena)
        try:
            return ort.InferenceSession(model.SerializeToString(), options,
                                        providers=self._providers)
        except Exception as exc:  # ORT raises its own exception types
            raise StudioError(f"{self.path}: ONNX Runtime cannot load it ({first_line(exc)})"
                              ) from None

    def _run(self, feed: dict[str, np.ndarray], session: ort.InferenceSession | None = None,
             ) -> list[np.ndarray]:
        shape = feed[self.input_name].shape
        try:
            outputs = (session or self._session).run(None, feed)
        except Exception as exc:
            raise StudioError(f"{self.path}: the model failed on a {shape} input ({exc})") \
                from None
        image = outputs[0]
        if image.ndim != 4 or image.shape[:2] != (1, 3):  # e.g. a model copied in by hand
            raise ModelLoadError(f"{self.path}: returns {image.shape} for a {shape} image, "
                                 "not an RGB image", hint="re-import it, or use another model")
        return outputs

    def _stylize_float(self, rgb: np.ndarray, tile_size: int | None, progress: Progress,
                       ) -> np.ndarray:
        """float32 (H, W, 3) 0..255 network output at the size of ``rgb``."""
        height, width = rgb.shape[:2]
        if self._fixed_size is not None:
            fixed_h, fixed_w = self._fixed_size
            out = to_hwc(self._run({self.input_name: to_nchw(resize(rgb, fixed_h, fixed_w))})[0])
            return resize(out, height, width)
        padded = pad_to_multiple(rgb, self.multiple)
        pixels = padded.shape[0] * padded.shape[1]
        auto = tile_size is None and pixels > self._max_pixels()
        if auto or (tile_size is not None and max(padded.shape[:2]) > tile_size):
            tile = tile_size or round_down(math.isqrt(self._max_pixels()), self.multiple)
            out = self._get_tiler().run(padded, tile, self._max_pixels(), progress)
        else:
            out = to_hwc(self._run({self.input_name: to_nchw(padded)})[0])
        return out[:height, :width]

    def _get_tiler(self) -> Tiler:
        if self._tiler is None:
            self._tiler = Tiler(
                self._model, self.path, config=self._config(), multiple=self.multiple,
                input_name=self.input_name, run=self._run, fallback=self._session,
                new_session=lambda model: self.new_session(model, arena=False))
        return self._tiler

    def _max_pixels(self) -> int:
        """Pixels one untiled run may have within ACTIVATION_BUDGET."""
        config = self._config()
        width = config.channels[0] if config else UNKNOWN_WIDTH
        return ACTIVATION_BUDGET // (4 * width * LIVE_ACTIVATIONS)

    def _config(self) -> ModelConfig | None:
        return ModelConfig.from_dict(self.card.model_config) if self.card.model_config else None


def _check_rgb(rgb: object) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 \
            or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        desc = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ImageFormatError(f"expected a uint8 (H, W, 3) RGB image, got {desc}")


def check_stroke_size(stroke_size: float) -> None:
    """Raise ``StudioError`` unless ``stroke_size`` is a number within ``STROKE_SIZES``."""
    low, high = STROKE_SIZES
    if isinstance(stroke_size, bool) or not isinstance(stroke_size, Real) \
            or not low <= stroke_size <= high:  # also refuses NaN
        raise StudioError(f"stroke size must be between {low:g} and {high:g}, not {stroke_size}",
                          hint="1 is the usual look; 2 doubles the strokes, 0.5 halves them")


def working_size(height: int, width: int, stroke_size: float, multiple: int = 1,
                 ) -> tuple[int, int]:
    """(height, width) the network runs at for a photo of that size: its aspect ratio, long side
    ``BASE_WORKING_SIDE / stroke_size``, both sides multiples of ``multiple``.

    Wide panoramas get a longer side so that their short side keeps ``MIN_SHORT_SHARE`` of it
    (a 4:1 one would otherwise be a 256 px strip), up to ``MAX_LONG_SHARE`` times it.
    """
    check_stroke_size(stroke_size)
    side = BASE_WORKING_SIDE / stroke_size
    long_, short = max(height, width), min(height, width)
    scale = max(side / long_, side * MIN_SHORT_SHARE / short)
    scale = min(scale, side * MAX_LONG_SHARE / long_)
    low = round_up(MIN_SIDE, multiple)
    return (max(low, round(height * scale / multiple) * multiple),
            max(low, round(width * scale / multiple) * multiple))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` (uint8 or float32, HxWx3) at (height, width): area when shrinking (no aliasing),
    bicubic when enlarging; the same array when the size already matches."""
    if image.shape[:2] == (height, width):
        return image
    shrink = height <= image.shape[0] and width <= image.shape[1]
    return cv2.resize(image, (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


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
    delta = stylized @ BT601_LUMA - original @ BT601_LUMA
    return original + delta[..., None]


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

