"""Optional parts of an install, probed without importing them.

The light desktop build leaves out PyTorch (over half the full build's size): it stylizes,
runs webcams and exports ONNX, but cannot train or convert to Core ML. The CLI refuses such a
command with one clear line; the studio greys out the option and says why in a tooltip.
"""

from __future__ import annotations

import functools
import importlib.util

from engine.errors import StudioError

TRAINING_MISSING = "training and iPhone (Core ML) export need PyTorch, which this build leaves out"
TRAINING_HINT = "use the full build, or install the Python package (pip install tinystyle-studio)"


@functools.cache  # asked on every gallery selection; an install does not change while running
def training_included() -> bool:
    """Whether torch (training, Core ML conversion) can be imported here."""
    return importlib.util.find_spec("torch") is not None


def require_training(what: str) -> None:
    """Raise a StudioError naming ``what`` unless the training stack is installed."""
    if not training_included():
        raise StudioError(f"{what}: {TRAINING_MISSING}", hint=TRAINING_HINT)
