"""`tinystyle info`: facts about a model file, a style, or a network preset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.card import ModelCard
from engine.errors import StudioError

# Card fields printed in the text view, in this order (the JSON view has the whole card).
CARD_FIELDS = ("name", "title", "artist", "year", "steps", "licence", "painting_source",
               "description", "engine_version")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a model file, style or network preset",
                       description="Describe a model file (.onnx or checkpoint), an installed "
                                   "style, or a network preset such as seed-tiny.")
    p.add_argument("target", metavar="MODEL|STYLE|PRESET")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    facts = describe(args.target)
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        print(format_facts(facts))
    return 0


def describe(target: str) -> dict:
    """Facts about ``target``: a model file first, then a network preset, then a style name."""
    from engine.models.config import NET_PRESETS

    path = Path(target)
    if path.is_file():
        return describe_model(path)
    if target in NET_PRESETS:
        return describe_preset(target)
    if path.suffix or path.parent != Path("."):
        raise StudioError(f"{target}: no such model file")
    from engine.styles import find_style

    try:
        style = find_style(target)
    except StudioError:
        raise StudioError(f"'{target}' is not a model file, network preset or style name",
                          hint=f"presets: {', '.join(NET_PRESETS)}; styles: `tinystyle styles`"
                          ) from None
    return describe_model(style.path)


def describe_preset(name: str) -> dict:
    """Build the preset's network to count its weights exactly."""
    from engine.models.config import net_preset
    from engine.models.transformer import TransformerNet, count_weights

    config = net_preset(name)
    return {
        "kind": "preset",
        "preset": name,
        "weights": count_weights(TransformerNet(config)),
        "channels": list(config.channels),
        "residual_blocks": config.residual_blocks,
        "kernels": [config.outer_kernel, config.inner_kernel],
        "size_multiple": config.size_multiple,
        "model_config": config.to_dict(),
    }


def describe_model(path: Path) -> dict:
    """Card and input facts of an ONNX model, or the card of a training checkpoint."""
    from engine.io.model_files import CHECKPOINT_SUFFIXES, load_network, open_onnx

    facts: dict = {"kind": "model", "path": str(path), "size_bytes": path.stat().st_size}
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        from engine.models.transformer import count_weights

        net, card = load_network(path)
        card.weights = card.weights or count_weights(net)
        facts["format"] = "checkpoint"
    else:
        model, card = open_onnx(path, ours=False, with_weights=False)
        facts["format"] = "onnx"
        facts["input"] = _onnx_input(model, card.size_multiple)
    facts["preset"] = card.preset or _preset_named_by(card.model_config)
    facts["weights"] = card.weights
    facts["card"] = card.to_dict()
    return facts


def _preset_named_by(model_config: dict) -> str:
    """The preset whose network config this is, or "" (custom network or not one of ours)."""
    from engine.models.config import NET_PRESETS, ModelConfig

    if not model_config:
        return ""
    config = ModelConfig.from_dict(model_config)
    return next((name for name, preset in NET_PRESETS.items() if preset == config), "")


def _onnx_input(model, size_multiple: int) -> dict:
    """Name and shape of the single image input (open_onnx has checked there is one)."""
    initializers = {init.name for init in model.graph.initializer}
    value = next(v for v in model.graph.input if v.name not in initializers)
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in value.type.tensor_type.shape.dim]
    return {
        "name": value.name,
        "shape": dims,
        "dtype": "float32",
        "range": "RGB 0..255",
        "size_multiple": size_multiple,
    }


def format_facts(facts: dict) -> str:
    """Aligned ``key: value`` lines for people."""
    lines: list[tuple[str, str]] = []
    if facts["kind"] == "preset":
        lines += [("preset", facts["preset"]), ("weights", f"{facts['weights']:,}"),
                  ("channels", " / ".join(map(str, facts["channels"])) + " (1x, 1/2x, 1/4x)"),
                  ("residual blocks", str(facts["residual_blocks"])),
                  ("kernels", "{} outer, {} inner".format(*facts["kernels"])),
                  ("size multiple", str(facts["size_multiple"]))]
    else:
        lines += [("file", facts["path"]), ("format", facts["format"]),
                  ("file size", f"{facts['size_bytes'] / 1024:.1f} KB"),
                  ("preset", facts["preset"] or "(unknown)"),
                  ("weights", f"{facts['weights']:,}" if facts["weights"] else "(unknown)")]
        if "input" in facts:
            spec = facts["input"]
            shape = "x".join(map(str, spec["shape"]))
            lines.append(("input", f"'{spec['name']}' {spec['dtype']} {shape}, {spec['range']}, "
                                   f"H and W multiples of {spec['size_multiple']}"))
        card = facts["card"]
        lines += [(key.replace("_", " "), str(card[key])) for key in CARD_FIELDS if card.get(key)]
        if card.get("dark_colour"):
            lines.append(("near-black", ModelCard(**card).near_black()))
    width = max(len(key) for key, _ in lines)
    return "\n".join(f"{key + ':':<{width + 1}} {value}" for key, value in lines)
