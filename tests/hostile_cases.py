"""Hostile inputs from issue 13, built from real files: each must end in a result or one clean
StudioError (exit 2 in the CLI), never a hang, a crash or a partial file.

Shared by the unit, CLI, GUI and fuzz tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

# The PostScript file of the issue, named .jpg: Pillow's EPS plugin would hand it to Ghostscript.
POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{ } loop\n"


def write_postscript_jpg(folder: Path, name: str = "e.jpg") -> Path:
    path = folder / name
    path.write_bytes(POSTSCRIPT)
    return path


def with_metadata(source: Path, target: Path, **changes: str) -> Path:
    """A copy of the ONNX model ``source`` with some model-card entries replaced."""
    model = onnx.load(str(source))
    props = {p.key: p.value for p in model.metadata_props} | changes
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(target))
    return target


def config_with(source: Path, **changes: object) -> str:
    """``source``'s model_config JSON with some fields replaced."""
    import json

    model = onnx.load(str(source))
    config = json.loads(next(p.value for p in model.metadata_props if p.key == "model_config"))
    return json.dumps({**config, **changes})


# Card mutations of the issue: name -> (source model -> metadata changes).
BAD_CARDS = {
    "model-config-list": lambda src: {"model_config": "[1, 2, 3]"},
    "widths-string": lambda src: {"model_config": config_with(src, widths="abc")},
    "alpha-1e308": lambda src: {"model_config": config_with(src, alpha=1e308)},
    "size-multiple-1e6": lambda src: {"size_multiple": "1000000"},
}


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(model, str(path))
    return path


def _image_io(output_channels: str | int = 3, side: str | int = "h"):
    width = side if isinstance(side, int) else "w"
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, side, width])
    out = helper.make_tensor_value_info("stylized", TensorProto.FLOAT,
                                        [1, output_channels, side, width])
    return image, out


def channels_model(path: Path, channels: int) -> Path:
    """Declares a dynamic channel count, computes 1 (Slice) or 4 (Pad) channels."""
    image, out = _image_io("c")
    if channels < 3:
        inits = [numpy_helper.from_array(np.array(v, np.int64), n)
                 for n, v in (("starts", [0]), ("ends", [channels]), ("axes", [1]))]
        node = helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["stylized"])
    else:
        pads = [0, 0, 0, 0, 0, channels - 3, 0, 0]
        inits = [numpy_helper.from_array(np.array(pads, np.int64), "pads")]
        node = helper.make_node("Pad", ["image", "pads"], ["stylized"])
    return _save(helper.make_graph([node], "g", [image], [out], initializer=inits), path)


def fixed_size_model(path: Path, side: int = 60000) -> Path:
    image, out = _image_io(3, side)
    return _save(helper.make_graph([helper.make_node("Identity", ["image"], ["stylized"])],
                                   "g", [image], [out]), path)


def loop_model(path: Path, iterations: int = 2**62) -> Path:
    """output = input, after a Loop of ``iterations`` empty steps (hangs ONNX Runtime)."""
    image, out = _image_io()
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])])
    inits = [numpy_helper.from_array(np.array(iterations, np.int64), "trips"),
             numpy_helper.from_array(np.array(True), "cond")]
    nodes = [helper.make_node("Loop", ["trips", "cond"], [], body=body),
             helper.make_node("Identity", ["image"], ["stylized"])]
    return _save(helper.make_graph(nodes, "g", [image], [out], initializer=inits), path)


def nan_on_black_model(path: Path) -> Path:
    """output = image / image * image: fine on grey, NaN where a pixel is 0 (numpy warns)."""
    image, out = _image_io()
    nodes = [helper.make_node("Div", ["image", "image"], ["ones"]),
             helper.make_node("Mul", ["ones", "image"], ["stylized"])]
    return _save(helper.make_graph(nodes, "g", [image], [out]), path)


# Models that must be refused on import and by `stylize --style`: name -> (builder, phrase).
BAD_GRAPHS = {
    "one-channel-output": (lambda p: channels_model(p, 1), "not an image of the same shape"),
    "four-channel-output": (lambda p: channels_model(p, 4), "not an image of the same shape"),
    "fixed-60000-input": (fixed_size_model, "fixed size of 60000 px"),
    "loop-2-62": (loop_model, "'Loop'"),
}


def small_checkpoint_state() -> dict:
    """A real, resumable checkpoint state of a seed-tiny network after one Adam step."""
    from engine.models.config import net_preset
    from engine.models.transformer import TransformerNet
    from engine.training.checkpoint import capture_rng_states

    torch.manual_seed(0)
    net = TransformerNet(net_preset("seed-tiny"))
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.rand(1, 3, 16, 16) * 255).mean().backward()
    optimizer.step()
    return {"step": 1, "model": net.state_dict(), "model_config": net.config.to_dict(),
            "train_config": {"net": "seed-tiny", "image_size": 64, "batch_size": 1, "steps": 4},
            "card": {"name": "tiny"}, "optimizer": optimizer.state_dict(),
            "rng": capture_rng_states(), "data": {"seed": 0, "step": 1}}


def _wrong_shape(state: dict) -> None:
    key = next(iter(state["model"]))
    state["model"][key] = torch.zeros(2, 2)


def _wrong_rng(state: dict) -> None:
    state["rng"]["torch"] = torch.zeros(7, dtype=torch.uint8)


def _wrong_step(state: dict) -> None:
    state["step"] = -5


def _wrong_optimizer(state: dict) -> None:
    first = next(iter(state["optimizer"]["state"].values()))
    first["exp_avg"] = torch.zeros(3)


# Loadable checkpoints with something wrong inside: name -> mutation of the state dict.
BAD_CHECKPOINTS = {"wrong-shape": _wrong_shape, "wrong-rng": _wrong_rng,
                   "wrong-step": _wrong_step, "wrong-optimizer": _wrong_optimizer}


def slow_model(path: Path, side: int = 1024, convs: int = 40) -> Path:
    """Allowed ops only, but a fixed 1024 px input through 40 convs: seconds, not milliseconds."""
    image, out = _image_io(3, side)
    weight = numpy_helper.from_array(np.full((3, 3, 3, 3), 1 / 27, np.float32), "w")
    names = ["image"] + [f"x{i}" for i in range(1, convs)] + ["stylized"]
    nodes = [helper.make_node("Conv", [a, "w"], [b], pads=[1, 1, 1, 1])
             for a, b in zip(names, names[1:], strict=False)]
    return _save(helper.make_graph(nodes, "g", [image], [out], initializer=[weight]), path)
