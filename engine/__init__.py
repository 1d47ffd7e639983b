"""TinyStyle engine: tiny fast-style-transfer networks, training, runtime and export.

No Qt here: the studio is a thin layer over this package. The public API below is imported
lazily (PEP 562), so ``import engine`` stays cheap and heavy modules (torch, onnxruntime,
coremltools) load only when a name that needs them is used::

    from engine import Stylizer, find_style, load_image
    out = Stylizer(find_style("starry-night").path).stylize(load_image("photo.jpg").rgb)
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# Torch's OpenMP threads spin-wait between ops by default. A training step of our tiny
# networks is thousands of small ops, and on a busy 2-core machine the spinning threads starve
# every other process and each other: a fast-16-r5-zs step (batch 8, 128 px, 2 threads, load
# ~7) took 1.0 s spinning and 0.29 s waiting passively, a VGG Gram step burnt 2.7x the CPU
# time. Set before torch loads its OpenMP runtime (torch is only imported below this package);
# a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

_PUBLIC = {
    "ModelConfig": "engine.models.config",
    "NET_PRESETS": "engine.models.config",
    "DEFAULT_NET_PRESET": "engine.models.config",
    "TransformerNet": "engine.models.transformer",
    "ModelCard": "engine.card",
    "StudioError": "engine.errors",
    "Cancelled": "engine.errors",
    "load_image": "engine.io.images",
    "save_image": "engine.io.images",
    "Stylizer": "engine.runtime.stylizer",
    "list_styles": "engine.styles",
    "find_style": "engine.styles",
    "export_onnx": "engine.export.to_onnx",
    "load_network": "engine.io.model_files",
    "TrainConfig": "engine.training.config",
    "TRAIN_PRESETS": "engine.training.config",
    "Trainer": "engine.training.trainer",
    "CancelToken": "engine.progress",
    "TrainCallbacks": "engine.progress",
    "export_coreml": "engine.export.coreml.convert",
    "write_ios_bundle": "engine.export.coreml.ios_bundle",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
