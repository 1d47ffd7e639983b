"""Training checkpoints: plain tensors, dicts and lists only, so ``weights_only=True`` loads them.

Layout (``format_version`` 1)::

    format_version  int
    step            int               steps completed
    model           state_dict        TransformerNet weights (CPU tensors)
    model_config    dict              ModelConfig.to_dict(); the architecture on load
    train_config    dict              TrainConfig as a dict (tuples become lists)
    card            dict              ModelCard.to_dict() of the style being trained
    optimizer       state_dict        Adam state
    rng             dict              torch / numpy / python ``random`` states
    data            dict              {"seed", "step"}: batches are a pure function of these

Migrations from older versions belong here, in ``load_checkpoint``, and nowhere else.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from engine.errors import TrainingError
from engine.io.files import atomic_path

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "step", "model", "model_config", "train_config", "optimizer",
                 "rng")


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` (the layout above, without format_version) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **state}, tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint with ``weights_only=True``; any problem is a one-line TrainingError."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: checkpoint not found",
                            hint="start a new run instead of resuming")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, not a zip, pickles non-tensor objects...
        raise TrainingError(f"{path}: corrupt or unreadable checkpoint ({type(exc).__name__})",
                            hint="delete it and train again from the start") from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise TrainingError(f"{path}: not a TinyStyle checkpoint (missing {', '.join(missing)})")
    if state["format_version"] > FORMAT_VERSION:
        raise TrainingError(
            f"{path}: checkpoint format {state['format_version']} is newer than this version "
            f"supports ({FORMAT_VERSION})", hint="update TinyStyle Studio")
    return state


def capture_rng_states() -> dict:
    """Every global RNG training might touch, as tensors and plain lists."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "gauss": gauss},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }


def restore_rng_states(states: dict) -> None:
    """Inverse of ``capture_rng_states``."""
    torch.set_rng_state(states["torch"])
    n = states["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    p = states["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
