"""The model card: provenance and facts that travel inside every exported model.

Stored as string key/value pairs in ONNX ``metadata_props`` (and Core ML user metadata), so
any tool can read it without our code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

import engine


@dataclass
class ModelCard:
    name: str  # short id used on the command line, e.g. "starry-night"
    title: str = ""  # painting title, e.g. "The Starry Night"
    artist: str = ""
    year: str = ""
    preset: str = ""  # network preset name, e.g. "seed-tiny"
    weights: int = 0  # trainable parameter count
    steps: int = 0  # training steps
    licence: str = "MIT"  # licence of the model weights
    painting_source: str = ""  # package the painting image came from, with its licence
    description: str = ""
    size_multiple: int = 4  # input H and W must be multiples of this
    engine_version: str = engine.__version__
    # Oldest runtimes known to load the file, e.g. "onnxruntime>=1.14, opencv-dnn>=5.0"; set by
    # the ONNX export, empty in cards written before it was (they still load).
    min_runtimes: str = ""
    # Near-black areas kept dark after the network (engine.runtime.dark_guard): the painting's
    # dark colour as '#rrggbb' (empty: no guard) and the grey levels a near-black area may be
    # lifted by before it is blended towards that colour.
    dark_colour: str = ""
    dark_lift: int = 0
    model_config: dict = field(default_factory=dict)  # ModelConfig.to_dict()

    def to_metadata(self) -> dict[str, str]:
        """Flat string map for ONNX metadata_props / Core ML user_defined_metadata."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = json.dumps(value) if isinstance(value, dict) else str(value)
        return out

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> ModelCard:
        kwargs: dict = {}
        for f in fields(cls):
            if f.name not in meta:
                continue
            raw = meta[f.name]
            if f.name in ("weights", "steps", "size_multiple", "dark_lift"):
                kwargs[f.name] = int(raw)
            elif f.name == "model_config":
                kwargs[f.name] = json.loads(raw)
            else:
                kwargs[f.name] = raw
        if "name" not in kwargs:
            kwargs["name"] = ""
        return cls(**kwargs)

    def to_dict(self) -> dict:
        return asdict(self)

    def near_black(self) -> str:
        """What happens to a photo's near-black areas, for people (``tinystyle info``/``train``)."""
        if not self.dark_colour:
            return "as the network paints them (no guard)"
        return f"kept within {self.dark_lift} grey levels, towards {self.dark_colour}"


def rgb_of_hex(colour: str) -> tuple[int, int, int]:
    """(r, g, b) of a '#rrggbb' colour; ValueError if it is not one."""
    if len(colour) != 7 or colour[0] != "#":
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
