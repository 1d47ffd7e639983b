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

A checkpoint does not depend on how many processes trained it: under torchrun (DDP) rank 0
writes it, every rank loads the same file to resume, and one process can resume it too.

Each save keeps the one before as ``<stem>.prev<suffix>``: a damaged last checkpoint (a full
disk, a crash between the two renames) costs one checkpoint interval, not the whole run.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from engine.errors import StudioError, TrainingError
from engine.io.files import atomic_path

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "step", "model", "model_config", "train_config", "optimizer",
                 "rng")
DICT_KEYS = ("model", "model_config", "train_config", "optimizer", "rng")
# What restoring a wrong-but-loadable checkpoint raises (shapes, RNG states, optimizer groups).
_RESTORE_ERRORS = (RuntimeError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                   OverflowError)


def previous_path(path: str | os.PathLike) -> Path:
    """Where the checkpoint before ``path`` is kept: ``checkpoint.pt`` -> ``checkpoint.prev.pt``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` (the layout above, without format_version) atomically, keeping the
    existing checkpoint as ``previous_path(path)``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **state}, tmp)
        if path.is_file():
            _keep_as_previous(path)
    return path


def _keep_as_previous(path: Path) -> None:
    """Link (or copy) the checkpoint to its previous name. Why not a rename: ``path`` stays
    until the new file replaces it, so a kill at any instant leaves a checkpoint there (after
    a rename there was none for a moment, and a killed library job restarted from scratch)."""
    with atomic_path(previous_path(path)) as tmp:
        tmp.unlink()
        try:
            os.link(path, tmp)
        except OSError:  # a file system without hard links
            shutil.copy2(path, tmp)


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
    wrong = [k for k in DICT_KEYS if not isinstance(state[k], dict)]
    for key in ("format_version", "step"):
        if not isinstance(state[key], int) or isinstance(state[key], bool) or state[key] < 0:
            wrong.append(key)
    if wrong:
        raise TrainingError(f"{path}: damaged checkpoint (bad {', '.join(wrong)})",
                            hint="delete it and train again from the start")
    if state["format_version"] > FORMAT_VERSION:
        raise TrainingError(
            f"{path}: checkpoint format {state['format_version']} is newer than this version "
            f"supports ({FORMAT_VERSION})", hint="update TinyStyle Studio")
    return state


def check_resumable(state: dict, path: str | os.PathLike) -> None:
    """Restore ``state`` into a throwaway network, optimizer and RNGs: a checkpoint that loads
    but holds wrong shapes, optimizer state or RNG states is a TrainingError here, not a crash
    in the middle of training."""
    from engine.models.config import ModelConfig
    from engine.models.transformer import TransformerNet

    saved_rng = capture_rng_states()
    try:
        net = TransformerNet(ModelConfig.from_dict(state["model_config"]))
        net.load_state_dict(state["model"])
        optimizer = torch.optim.Adam(net.parameters())
        optimizer.load_state_dict(state["optimizer"])
        for param in net.parameters():
            for key, value in optimizer.state.get(param, {}).items():
                if key != "step" and tuple(value.shape) != tuple(param.shape):
                    raise ValueError(f"optimizer {key} has shape {tuple(value.shape)}, "
                                     f"not {tuple(param.shape)}")
        restore_rng_states(state["rng"])
    except (*_RESTORE_ERRORS, StudioError) as exc:
        detail = exc.message if isinstance(exc, StudioError) else str(exc)
        detail = " ".join(detail.split())[:160] or type(exc).__name__
        raise TrainingError(f"{Path(path)}: damaged checkpoint ({detail})",
                            hint="delete it and train again from the start") from None
    finally:
        restore_rng_states(saved_rng)


def load_resumable(path: str | os.PathLike, *, announce: bool = True) -> dict:
    """The checkpoint to resume from: ``path`` if it loads and restores, else the previous one
    (with a warning when ``announce``); the error about ``path`` if neither works."""
    path = Path(path)
    try:
        state = load_checkpoint(path)
        check_resumable(state, path)
        return state
    except TrainingError as latest:
        previous = previous_path(path)
        if not previous.is_file():
            raise
        try:
            state = load_checkpoint(previous)
            check_resumable(state, previous)
        except TrainingError:
            raise latest from None
        if announce:
            log.warning("%s; resuming from the previous checkpoint %s (step %d)",
                        latest.message, previous, state["step"])
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
