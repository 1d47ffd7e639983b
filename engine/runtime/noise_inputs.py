"""Fixed noise channels (``engine.models.noise``) as inputs, for networks run in parts.

A network with noise channels draws them inside the graph, anchored at its input's corner, so a
part of an image run on its own (a tile, half a live frame) would start the pattern afresh. Run
in parts, the graph takes the channels as inputs instead (``with_noise_inputs``), each part fed
the whole image's noise there (``NoisePattern``). Shared by the tiler and the live path.
"""

from __future__ import annotations

import numpy as np
import onnx

Noise = list[tuple[str, int]]  # (tensor, period) of each noise channel, graph order


def noise_channels(model: onnx.ModelProto) -> Noise:
    """(tensor, period) of each fixed noise channel of ``engine.models.noise`` in ``model``, in
    graph order: the crop after a depth-to-space of a 1x1 conv of a conv strided by the block."""
    nodes = model.graph.node
    producer = {name: node for node in nodes for name in node.output}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    found = []
    for node in nodes:
        if node.op_type != "DepthToSpace":
            continue
        block = _attribute(node, "blocksize")
        tile = producer.get(node.input[0])
        ones = producer.get(tile.input[0]) if tile is not None else None
        if ones is None or tile.op_type != "Conv" or ones.op_type != "Conv" \
                or _attribute(ones, "strides") != [block, block]:
            continue
        name = node.output[0]
        while len(readers.get(name, [])) == 1 and readers[name][0].op_type == "Slice":
            name = readers[name][0].output[0]
        found.append((name, block))
    return found


def _attribute(node: onnx.NodeProto, name: str):
    return next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name),
                None)


def with_noise_inputs(model: onnx.ModelProto, noise: Noise) -> onnx.ModelProto:
    """``model`` with each noise channel a graph input (1, 1, H, W) instead of drawn, and the
    nodes that drew them removed."""
    if not noise:
        return model
    names = {name for name, _ in noise}
    graph = model.graph
    kept = [node for node in graph.node if not names & {*node.output}]
    needed = {out.name for out in graph.output}
    for node in reversed(kept):  # keep only what the outputs need
        if needed & {*node.output}:
            needed |= {*node.input}
    del graph.node[:]
    graph.node.extend(node for node in kept if needed & {*node.output})
    used = [tensor for tensor in graph.initializer if tensor.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)
    graph.input.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                          [1, 1, None, None])
                       for name, _ in noise)
    return model


def with_noise_outputs(model: onnx.ModelProto, noise: Noise) -> onnx.ModelProto:
    """``model`` with the ``noise`` channels as extra outputs, last (for ``NoisePattern``)."""
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                                 None)
                              for name, _ in noise)
    return model


class NoisePattern:
    """The noise channels a run drew on a whole image, as one period of each: any part of the
    image gets its noise from them as the whole image has it there."""

    def __init__(self, noise: Noise, drawn: list[np.ndarray], height: int) -> None:
        """``drawn``: the ``noise`` channels (1, 1, H, W) of a run on an input ``height`` px
        tall (H is larger: the network pads its input before drawing them)."""
        self._noise = noise
        self._tiles = [out[0, 0, :period, :period]
                       for out, (_, period) in zip(drawn, noise, strict=True)]
        self._margin = (drawn[0].shape[2] - height) // 2 if drawn else 0

    def cut(self, y0: int, y1: int, x0: int, x1: int) -> dict[str, np.ndarray]:
        """The noise inputs of the image's rows y0:y1, columns x0:x1 run on their own."""
        m = self._margin
        feed = {}
        for (name, period), tile in zip(self._noise, self._tiles, strict=True):
            rows = np.arange(y0, y1 + 2 * m) % period
            cols = np.arange(x0, x1 + 2 * m) % period
            feed[name] = np.ascontiguousarray(tile[np.ix_(rows, cols)])[None, None]
        return feed
