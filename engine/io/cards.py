"""Model cards: reading and checking them, light enough for listing styles at start-up.

``peek_card`` reads a card straight from an ONNX file's bytes (no ``onnx`` import, which costs
about a second); ``engine.io.model_files`` loads and checks whole models with the same
``check_card``.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

from engine.card import ModelCard, rgb_of_hex
from engine.errors import ModelLoadError
from engine.io.onnx_metadata import read_metadata
from engine.models.config import ModelConfig

MAX_SIZE_MULTIPLE = 64  # px; a card asking for a coarser grid is refused
MAX_MODEL_BYTES = 256 * 2**20  # our models are ~20 KB; anything this big is not one of ours


def peek_card(path: str | os.PathLike) -> ModelCard:
    """The card of a style already in a styles folder, for listing: metadata only.

    Import checked the whole model (``engine.styles``); this refuses files that are not ONNX
    models at all, so a damaged file shows as an error, not as a style.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise ModelLoadError(f"{path}: too large for a style model")
        meta, has_graph = read_metadata(path.read_bytes())
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError:
        raise ModelLoadError(f"{path}: not an ONNX model") from None
    if not has_graph:
        raise ModelLoadError(f"{path}: not an ONNX model (no graph in it)")
    return card_from_metadata(meta, path)


def card_from_metadata(meta: dict[str, str], path: Path) -> ModelCard:
    """A checked card from ``metadata_props`` strings; unnamed cards take the file's name."""
    try:
        card = ModelCard.from_metadata(meta)
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"{path}: its model card is corrupt ({one_line(exc)})") from None
    check_card(card, path)
    card.name = card.name or path.stem
    return card


def one_line(value: object) -> str:
    """One line of at most 160 characters for an error message (an exception or a value)."""
    return " ".join(str(value).split())[:160] or type(value).__name__


def check_card(card: ModelCard, path: Path) -> None:
    """The card's fields by type and range; ``model_config`` must build a ``ModelConfig``."""
    def corrupt(detail: str) -> ModelLoadError:
        return ModelLoadError(f"{path}: its model card is corrupt ({detail})",
                              hint="only use model files from sources you trust")

    for f in fields(card):
        value = getattr(card, f.name)
        if f.type == "str" and not isinstance(value, str):
            raise corrupt(f"{f.name} must be text, not {type(value).__name__}")
    for name in ("weights", "steps", "size_multiple", "dark_lift"):
        value = getattr(card, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise corrupt(f"{name} must be a whole number >= 0, not {one_line(value)}")
    if not 1 <= card.size_multiple <= MAX_SIZE_MULTIPLE:
        raise corrupt(f"size_multiple must be 1..{MAX_SIZE_MULTIPLE}, not {card.size_multiple}")
    if card.dark_colour:
        try:
            rgb_of_hex(card.dark_colour)
        except ValueError as exc:
            raise corrupt(f"dark_colour: {one_line(exc)}") from None
    if not isinstance(card.model_config, dict):
        raise corrupt(f"model_config must be a JSON object, not {type(card.model_config).__name__}")
    if card.model_config:
        try:
            ModelConfig.from_dict(card.model_config)
        except (TypeError, ValueError) as exc:
            raise corrupt(f"model_config: {one_line(exc)}") from None
