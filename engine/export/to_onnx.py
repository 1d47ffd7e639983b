"""Torch network -> small ONNX file with the model card in its metadata.

The dynamo exporter gives a clean graph but a large file: per-node debug metadata, long tensor
names and value_info. We strip those, shorten every internal name and, optionally, store conv
kernels as per-output-channel int8 tensors feeding ``DequantizeLinear`` (weight-only 8-bit:
activations stay float32, so the runtime cost is one dequantisation of a few thousand weights).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from engine.card import ModelCard
from engine.errors import ExportError
from engine.io.files import write_bytes_atomic
from engine.models.transformer import TransformerNet, count_weights

log = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "stylized"
SAMPLE_SIZE = 64  # px; the traced example input, any multiple of size_multiple works


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
    onnx.helper.set_model_props(model, card.to_metadata())
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path}: the exported graph is invalid ({exc})") from exc
    data = model.SerializeToString()
    log.info("exported %s (%d bytes, int8 weights: %s)", path, len(data), quantize_weights)
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
    13+ for the ``axis`` attribute, which the dynamo exporter always satisfies.
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
            graph.initializer.remove(inits[name])
            graph.initializer.extend([
                numpy_helper.from_array(q, f"{name}_q"),
                numpy_helper.from_array(scale, f"{name}_s"),
            ])
            dequant_nodes.append(helper.make_node(
                "DequantizeLinear", [f"{name}_q", f"{name}_s"], [name], axis=0
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
