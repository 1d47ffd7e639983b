"""Torch network -> small ONNX file with the model card in its metadata.

The dynamo exporter gives a clean graph but a large file: per-node debug metadata, long tensor
names and value_info. We strip those, shorten every internal name and, optionally, store conv
kernels as per-output-channel int8 tensors feeding ``DequantizeLinear`` (weight-only 8-bit:
activations stay float32, so the runtime cost is one dequantisation of a few thousand weights).

The exporter writes IR 10 / opset 18+, which ONNX Runtime before 1.18 refuses, so the file is
relabelled as opset ``OPSET`` / IR ``IR_VERSION`` (the network needs nothing newer) and says
in its doc strings what it expects, for people who open it without our code.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import defs, helper, numpy_helper

from engine.card import ModelCard
from engine.errors import ExportError
from engine.io.files import write_bytes_atomic
from engine.models.transformer import TransformerNet, count_weights
from engine.runtime.arrays import round_up

log = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "stylized"
SAMPLE_SIZE = 64  # px; the traced example input, any multiple of size_multiple works
CHECK_SIZE = 32  # px; the input on which the relabelled graph must match the exported one
# The lowest opset with DequantizeLinear's per-channel ``axis`` (our int8 kernels); every other
# op we use (Pad and Resize with tensor inputs, DepthToSpace CRD) is older. IR 7 is the version
# ONNX 1.8 introduced with opset 13; nothing in our files needs a later one.
OPSET = 13
IR_VERSION = 7
# Oldest runtimes seen to run every preset's export with outputs equal to the newest's: ONNX
# Runtime 1.15 is the oldest with wheels for Python 3.11; OpenCV 4.10 DNN imports DepthToSpace
# (the "fast" design's pixel shuffle) as reshapes fixed at load time, which fail on dynamic
# sizes, and runs the other designs. tests/export/test_onnx_runtimes.py checks what is installed.
MIN_ONNXRUNTIME = "onnxruntime>=1.15"
MIN_OPENCV = {True: "opencv-dnn>=5.0", False: "opencv-dnn>=4.10"}  # by "has DepthToSpace"


def export_onnx(
    net: TransformerNet, card: ModelCard, path: str | os.PathLike, *, quantize_weights: bool = True
) -> Path:
    """Write ``net`` to ``path`` atomically as ONNX: input ``image``, output ``stylized``.

    The card is completed with the network's config, weight count and size multiple. With
    ``quantize_weights`` conv kernels are stored as int8 (about 4x smaller, same speed in ONNX
    Runtime; the output moves by a fraction of a grey level).
    """
    path = Path(path)
    card = dataclasses.replace(
        card,
        weights=count_weights(net),
        size_multiple=net.config.size_multiple,
        model_config=net.config.to_dict(),
    )
    model = _trace(net, path)
    shrink(model)
    if quantize_weights:
        quantize_conv_weights(model)
    return write_model(model, card, path)


def write_model(model: onnx.ModelProto, card: ModelCard, path: str | os.PathLike) -> Path:
    """Relabel ``model`` as ``OPSET``, document it, put ``card`` in, check it and write it.

    The last steps of every export, and all that re-exporting an older file of ours needs.
    The graph must compute the same before and after relabelling (checked on a small input).
    """
    path = Path(path)
    card = dataclasses.replace(card, min_runtimes=min_runtimes(model))
    original = model.SerializeToString()
    to_opset(model, path)
    describe(model, card)
    helper.set_model_props(model, card.to_metadata())
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path}: the exported graph is invalid ({exc})") from exc
    data = model.SerializeToString()
    _check_same_output(original, data, card.size_multiple, path)
    log.info("exported %s (%d bytes, opset %d)", path, len(data), OPSET)
    return write_bytes_atomic(path, data)


def _trace(net: TransformerNet, path: Path) -> onnx.ModelProto:
    """Export with the dynamo exporter, height and width dynamic."""
    net = copy.deepcopy(net).float().cpu().eval()
    sample = torch.rand(1, 3, SAMPLE_SIZE, SAMPLE_SIZE) * 255.0
    # min 8: reflection padding at 1/4 resolution needs at least 2 pixels there.
    dims = {INPUT_NAME: {2: torch.export.Dim("height", min=8), 3: torch.export.Dim("width", min=8)}}
    try:
        with torch.no_grad():
            program = torch.onnx.export(
                net, (sample,), dynamo=True, input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME], dynamic_shapes=dims, verbose=False,
            )
    except Exception as exc:  # the exporter raises many internal types
        raise ExportError(f"{path}: ONNX export failed ({type(exc).__name__}: {exc})") from exc
    return program.model_proto


def shrink(model: onnx.ModelProto) -> None:
    """Drop debug data and give every internal tensor a short name, in place."""
    graph = model.graph
    model.doc_string = ""
    graph.doc_string = ""
    del model.metadata_props[:]
    del graph.value_info[:]
    for value in (*graph.input, *graph.output):
        del value.metadata_props[:]  # exporter notes; an IR 10 field besides
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    names: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        return names.setdefault(name, np.base_repr(len(names), 36).lower())

    for init in graph.initializer:
        init.name = short(init.name)
        init.doc_string = ""
    for node in graph.node:
        node.name = ""
        node.doc_string = ""
        del node.metadata_props[:]
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]


def quantize_conv_weights(model: onnx.ModelProto) -> None:
    """Replace each float Conv kernel initializer by int8 + per-channel scale + DequantizeLinear.

    Symmetric per-output-channel quantisation: scale = max|w| / 127, zero point 0. Needs opset
    13+ for the ``axis`` attribute, the reason OPSET is 13.
    """
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    dequant_nodes: list[onnx.NodeProto] = []
    done: set[str] = set()
    for node in graph.node:
        if node.op_type != "Conv" or node.input[1] not in inits:
            continue
        name = node.input[1]
        if name not in done:
            weight = numpy_helper.to_array(inits[name]).astype(np.float32)
            q, scale = quantize_per_channel(weight)
            # one scale for all when they are equal (the noise tiles' one-value channels of
            # +-0.5 would otherwise carry 4 bytes each: 45 KB for Great Wave's 11,298)
            shared = bool(np.all(scale == scale[0]))
            graph.initializer.remove(inits[name])
            graph.initializer.extend([
                numpy_helper.from_array(q, f"{name}_q"),
                numpy_helper.from_array(scale[0] if shared else scale, f"{name}_s"),
            ])
            dequant_nodes.append(helper.make_node(
                "DequantizeLinear", [f"{name}_q", f"{name}_s"], [name],
                **({} if shared else {"axis": 0})
            ))
            done.add(name)
    # Constant-only nodes first keeps the graph topologically sorted.
    for i, node in enumerate(dequant_nodes):
        graph.node.insert(i, node)


def quantize_per_channel(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 kernel and float32 scale per output channel (axis 0); all-zero channels get scale 1."""
    peak = np.abs(weight).reshape(weight.shape[0], -1).max(axis=1)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    q = np.clip(np.rint(weight / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def to_opset(model: onnx.ModelProto, path: Path) -> None:
    """Relabel the graph as the older ``OPSET`` and ``IR_VERSION``, in place.

    ``onnx.version_converter`` cannot go down here (no adapters for Pad 18 -> 17 nor for the
    type-only steps such as Div 14 -> 13). Our ops mean the same at ``OPSET`` as long as the
    newer attributes hold their defaults (Resize ``antialias`` 0, ...) and the newer optional
    inputs are empty (Pad ``axes``): those are dropped, anything else is refused, and the
    checker then validates every node against the older schemas.
    """
    current = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    _shape_ranges_to_slices(model)
    for node in model.graph.node:
        try:
            old = defs.get_schema(node.op_type, OPSET, node.domain)
        except defs.SchemaError:
            raise ExportError(f"{path}: '{node.op_type}' does not exist at opset {OPSET}") from None
        new = defs.get_schema(node.op_type, current, node.domain)
        for attr in list(node.attribute):
            if attr.name in old.attributes:
                continue
            default = new.attributes[attr.name].default_value
            if not default.name or helper.get_attribute_value(default) != \
                    helper.get_attribute_value(attr):
                raise ExportError(f"{path}: '{node.op_type}' uses '{attr.name}', which opset "
                                  f"{OPSET} does not have")
            node.attribute.remove(attr)
        while len(node.input) > old.max_input and not node.input[-1]:
            node.input.pop()
        if len(node.input) > old.max_input:
            raise ExportError(f"{path}: '{node.op_type}' has more inputs than opset {OPSET} allows")
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", OPSET))
    model.ir_version = IR_VERSION


def _shape_ranges_to_slices(model: onnx.ModelProto) -> None:
    """Rewrite opset 15's ``Shape(start, end)`` (the exporter's way to read one side, as the
    noise channels' crop does) as a whole ``Shape`` and a ``Slice`` of it, in place."""
    graph = model.graph
    nodes = list(graph.node)
    del graph.node[:]
    for node in nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type != "Shape" or not attrs:
            graph.node.append(node)
            continue
        whole, bounds = f"{node.output[0]}_all", f"{node.output[0]}_bounds"
        graph.initializer.extend(numpy_helper.from_array(np.array([attrs.get(key, default)],
                                                                  np.int64), f"{bounds}_{key}")
                                 for key, default in (("start", 0), ("end", 2**62)))
        graph.node.extend([
            helper.make_node("Shape", [node.input[0]], [whole]),
            helper.make_node("Slice", [whole, f"{bounds}_start", f"{bounds}_end"],
                             list(node.output)),
        ])


def min_runtimes(model: onnx.ModelProto) -> str:
    """The oldest ONNX Runtime and OpenCV DNN known to run this graph, for the model card."""
    shuffles = any(node.op_type == "DepthToSpace" for node in model.graph.node)
    return f"{MIN_ONNXRUNTIME}, {MIN_OPENCV[shuffles]}"


def describe(model: onnx.ModelProto, card: ModelCard) -> None:
    """Doc strings that state the pixel convention, for tools and people without our code.

    The output's sides are declared equal to the input's: true for every input the model
    accepts (sides multiples of ``size_multiple``), and it is what the file promises.
    """
    m = card.size_multiple
    title = f"{card.title} ({card.artist})" if card.title and card.artist else card.title
    pixels = (f"float32 (1, 3, H, W): NCHW, RGB, 0..255; H and W multiples of {m}, at least 8 "
              f"(pad other sizes, e.g. by reflection, and crop the output)")
    model.doc_string = (
        f"TinyStyle Studio style model '{card.name}'{': ' + title if title else ''}. "
        f"Fast style transfer: input 'image' {pixels}; output 'stylized' the same shape and "
        f"convention. Runs on {card.min_runtimes}. The model card is in metadata_props.")
    model.graph.doc_string = f"Feed-forward style network ({card.preset or 'custom'})."
    (image,), (stylized,) = model.graph.input, model.graph.output
    image.doc_string = f"Photo, {pixels}."
    stylized.doc_string = "Stylized photo, float32 (1, 3, H, W) RGB 0..255, the input's size."
    in_dims, out_dims = image.type.tensor_type.shape.dim, stylized.type.tensor_type.shape.dim
    for source, target in zip(in_dims[2:], out_dims[2:], strict=True):
        target.CopyFrom(source)


def _check_same_output(before: bytes, after: bytes, multiple: int, path: Path) -> None:
    """The relabelled graph computes what the exporter's did, in ONNX Runtime."""
    side = round_up(CHECK_SIZE, multiple)
    image = np.random.default_rng(0).uniform(0, 255, (1, 3, side, side)).astype(np.float32)
    outputs = []
    for data in (before, after):
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {INPUT_NAME: image})[0])
    if outputs[0].shape != outputs[1].shape or np.abs(outputs[0] - outputs[1]).max() > 1e-3:
        raise ExportError(f"{path}: the opset {OPSET} graph does not compute what the exported "
                          f"one did")
