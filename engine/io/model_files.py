"""Read models back: the card from an ONNX file, or a torch ``TransformerNet`` from our ONNX files
and training checkpoints.

Every file is checked before use, so a wrong or hostile file becomes a ``ModelLoadError`` naming
the file and the problem rather than a crash or a hang deep inside ONNX Runtime: not ONNX at
all, not one float (1, 3, H, W) input and output, a huge fixed input size, a model card with
wrong types or absurd values, operators our networks never use (loops, for one, can run
forever), or external weight data that points outside its folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import TensorProto, external_data_helper, numpy_helper

from engine.card import ModelCard
from engine.errors import ModelLoadError
from engine.io.cards import card_from_metadata, check_card, one_line
from engine.io.files import write_bytes_atomic
from engine.models.config import ModelConfig

if TYPE_CHECKING:
    from engine.models.transformer import TransformerNet


INPUT_NAME = "image"  # the input name of our models (docs/ARCHITECTURE.md)
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")

# Operators a model we run may use: every op in the bundled styles and in exports of each
# NET_PRESETS network (float and int8), plus the harmless ones older exporters emit (Constant,
# Identity, Upsample). No control flow (Loop, If, Scan), no custom domains. The benchmark
# peers run through their own sessions, not through this check.
ALLOWED_OPS = frozenset({
    "Add", "Concat", "Constant", "Conv", "DepthToSpace", "DequantizeLinear", "Div", "Identity",
    "InstanceNormalization", "Mul", "Pad", "Relu", "Reshape", "Resize", "Shape", "Slice",
    "Squeeze", "Sub", "Tanh", "Upsample",
})
MAX_FIXED_SIDE = 4096  # px; a model with a larger fixed input size is refused


def read_card(path: str | os.PathLike) -> ModelCard:
    """The model card of an ONNX model, without loading external weight data.

    Models that are not ours get a card named after the file, with defaults elsewhere.
    """
    return open_onnx(path, ours=False, with_weights=False)[1]


def write_card(path: str | os.PathLike, card: ModelCard) -> Path:
    """Replace the card of our ONNX model at ``path`` with ``card`` (atomic; weights, graph and
    doc string as they were)."""
    model, _ = open_onnx(path, ours=True)
    check_card(card, Path(path))
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, card.to_metadata())
    return write_bytes_atomic(path, model.SerializeToString())


def open_onnx(
    path: str | os.PathLike, *, ours: bool, with_weights: bool = True
) -> tuple[onnx.ModelProto, ModelCard]:
    """Load and check an ONNX model and its card.

    ``ours`` also requires the input to be named ``image``; any model with one float 4-D input
    and output passes otherwise. ``with_weights`` loads external data (after checking where it
    points).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError, RuntimeError or ValueError
        raise ModelLoadError(f"{path}: not an ONNX model ({type(exc).__name__})") from None
    if model.ir_version <= 0 or not model.graph.node:
        raise ModelLoadError(f"{path}: not an ONNX model (no graph in it)")
    _check_io(model, path, ours)
    if with_weights:  # about to be run or converted
        _check_ops(model, path)
    _check_external_data(model, path)
    if with_weights and _uses_external_data(model):
        try:
            external_data_helper.load_external_data_for_model(model, str(path.parent))
        except Exception as exc:
            raise ModelLoadError(f"{path}: cannot read its external weight data ({exc})") from None
    return model, card_from_metadata({p.key: p.value for p in model.metadata_props}, path)


def _check_ops(model: onnx.ModelProto, path: Path) -> None:
    """Only the operators our networks use, in the standard domain; no subgraphs, no functions."""
    hint = "only models exported by TinyStyle (or built from the same operators) can be used"
    if model.functions:
        raise ModelLoadError(f"{path}: defines its own functions, which TinyStyle does not run",
                             hint)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in ALLOWED_OPS:
            op = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
            raise ModelLoadError(f"{path}: uses the operator '{op}', which TinyStyle does not run",
                                 hint)
        if any(a.HasField("g") or a.graphs for a in node.attribute):
            raise ModelLoadError(f"{path}: has a subgraph in '{node.op_type}'", hint)


def _check_io(model: onnx.ModelProto, path: Path, ours: bool) -> None:
    initializers = {init.name for init in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    outputs = list(model.graph.output)
    hint = "expected one float32 input (1, 3, H, W) RGB 0..255 and one output of the same shape"
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelLoadError(
            f"{path}: has {len(inputs)} inputs and {len(outputs)} outputs, not one of each", hint
        )
    if ours and inputs[0].name != INPUT_NAME:
        raise ModelLoadError(f"{path}: input is named '{inputs[0].name}', not '{INPUT_NAME}'", hint)
    for kind, value in (("input", inputs[0]), ("output", outputs[0])):
        tensor = value.type.tensor_type
        if tensor.elem_type != TensorProto.FLOAT:
            raise ModelLoadError(f"{path}: {kind} '{value.name}' is not float32", hint)
        dims = tensor.shape.dim
        if len(dims) != 4:
            raise ModelLoadError(f"{path}: {kind} '{value.name}' has rank {len(dims)}, not 4", hint)
        if dims[0].HasField("dim_value") and dims[0].dim_value != 1:
            raise ModelLoadError(
                f"{path}: {kind} '{value.name}' has batch size {dims[0].dim_value}, not 1", hint
            )
        if dims[1].HasField("dim_value") and dims[1].dim_value != 3:
            raise ModelLoadError(
                f"{path}: {kind} '{value.name}' has {dims[1].dim_value} channels, not 3", hint
            )
        fixed = [d.dim_value for d in dims[2:] if d.HasField("dim_value")]
        if any(side > MAX_FIXED_SIDE for side in fixed):
            raise ModelLoadError(
                f"{path}: {kind} '{value.name}' has a fixed size of {max(fixed)} px "
                f"(the limit is {MAX_FIXED_SIDE})", hint
            )


def _all_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    """Initializers and tensor attributes (Constant values), subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _all_tensors(sub)


def _uses_external_data(model: onnx.ModelProto) -> bool:
    return any(external_data_helper.uses_external_data(t) for t in _all_tensors(model.graph))


def _check_external_data(model: onnx.ModelProto, path: Path) -> None:
    """External data must be a file inside the model's own folder (no ``..``, no absolute path)."""
    folder = path.parent.resolve()
    for tensor in _all_tensors(model.graph):
        if not external_data_helper.uses_external_data(tensor):
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        target = (folder / location).resolve()
        if not location or not target.is_relative_to(folder) or target == folder:
            raise ModelLoadError(
                f"{path}: external weight data '{location}' points outside the model's folder",
                hint="only use model files from sources you trust",
            )
        if not target.is_file():
            raise ModelLoadError(f"{path}: external weight data '{location}' is missing")


def load_network(path: str | os.PathLike) -> tuple[TransformerNet, ModelCard]:
    """Rebuild the torch ``TransformerNet`` and card from our ONNX file or a training checkpoint.

    Returns ``(net, card)`` with ``net`` in eval mode on the CPU. int8 conv kernels are
    dequantised, so the net computes what the ONNX file computes.
    """
    path = Path(path)
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return _load_checkpoint(path)
    model, card = open_onnx(path, ours=True)
    if not card.model_config:
        raise ModelLoadError(
            f"{path}: not a TinyStyle model (no model_config in its metadata)",
            hint="only models exported by TinyStyle can be turned back into a network",
        )
    net = _new_net(card.model_config, path)
    _copy_onnx_weights(model, net, path)
    return net.eval(), card


def _new_net(config: dict, path: Path) -> TransformerNet:
    from engine.models.transformer import TransformerNet

    try:
        return TransformerNet(ModelConfig.from_dict(config))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"{path}: its model_config is invalid ({one_line(exc)})") from None


def constant_tensors(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Initializers plus the outputs of DequantizeLinear nodes fed only by initializers."""
    tensors = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and all(n in tensors for n in node.input if n):
            tensors[node.output[0]] = _dequantize(node, tensors)
    return tensors


def _dequantize(node: onnx.NodeProto, tensors: dict[str, np.ndarray]) -> np.ndarray:
    """``(x - zero_point) * scale`` with per-axis broadcasting, as ONNX DequantizeLinear does."""
    x = tensors[node.input[0]].astype(np.float32)
    scale = tensors[node.input[1]].astype(np.float32)
    zero = tensors[node.input[2]].astype(np.float32) if len(node.input) > 2 and node.input[2] \
        else np.zeros_like(scale)
    if scale.ndim == 1 and scale.size > 1:
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1) % x.ndim
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (x - zero) * scale


def _copy_onnx_weights(model: onnx.ModelProto, net: TransformerNet, path: Path) -> None:
    """Match Conv / InstanceNormalization nodes to the net's layers in graph order and copy."""
    import torch
    from torch import nn

    tensors = constant_tensors(model)
    ops = {"Conv": nn.Conv2d, "InstanceNormalization": nn.InstanceNorm2d}
    nodes = [n for n in model.graph.node if n.op_type in ops]
    layers = [m for m in net.modules() if isinstance(m, tuple(ops.values()))]
    mismatch = ModelLoadError(f"{path}: its weights do not match its model_config")
    if len(nodes) != len(layers):
        raise mismatch
    with torch.no_grad():
        for node, layer in zip(nodes, layers, strict=True):
            params = [p for p in (layer.weight, layer.bias) if p is not None]
            names = [n for n in node.input[1:] if n]
            if not isinstance(layer, ops[node.op_type]) or len(names) != len(params):
                raise mismatch
            for name, param in zip(names, params, strict=True):
                value = tensors.get(name)
                if value is None or tuple(value.shape) != tuple(param.shape):
                    raise mismatch
                param.copy_(torch.tensor(value, dtype=torch.float32))


def _load_checkpoint(path: Path) -> tuple[TransformerNet, ModelCard]:
    """A training checkpoint: a dict with ``model_config``, ``model`` and optionally ``card``."""
    import torch

    if not path.is_file():
        raise ModelLoadError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors alike
        raise ModelLoadError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("model_config"), dict) \
            or not isinstance(data.get("model"), dict):
        raise ModelLoadError(f"{path}: not a TinyStyle checkpoint (no model_config and model)")
    net = _new_net(data["model_config"], path)
    try:
        net.load_state_dict(data["model"])
    except (RuntimeError, TypeError) as exc:
        raise ModelLoadError(f"{path}: its weights do not match its model_config "
                             f"({one_line(exc)})") from None
    card = _card_from_dict(data.get("card", {}), path)
    if not card.model_config:
        card.model_config = net.config.to_dict()
    return net.eval(), card


def _card_from_dict(data: object, path: Path) -> ModelCard:
    """A card stored as ``to_dict()`` (typed values) or ``to_metadata()`` (strings)."""
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: its model card is corrupt (not a dict)")
    try:
        if all(isinstance(v, str) for v in data.values()):
            card = ModelCard.from_metadata(data)
        else:
            known = ModelCard.__dataclass_fields__
            card = ModelCard(**{"name": "", **{k: v for k, v in data.items() if k in known}})
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{path}: its model card is corrupt ({one_line(exc)})") from None
    check_card(card, path)
    card.name = card.name or path.stem
    return card
