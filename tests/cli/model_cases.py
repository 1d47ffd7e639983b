"""Model files that must be refused, and the name of the small test style.

Shared by the CLI tests of ``stylize``, ``info`` and ``styles``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TINY_STYLE = "tiny-test"  # name of the small model the CLI fixtures export and install


# --- model files that must be refused --------------------------------------------------------

def _not_onnx(folder: Path) -> Path:
    path = folder / "not-a-model.onnx"
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not a protobuf " * 8)
    return path


def _image_model(folder: Path, name: str, value: onnx.ValueInfoProto,
                 initializers: list[onnx.TensorProto]) -> Path:
    """A one-node model: output = input + constant (shape checks are the point, not the math)."""
    output = helper.make_tensor_value_info("stylized", TensorProto.FLOAT,
                                           [d.dim_param or d.dim_value
                                            for d in value.type.tensor_type.shape.dim])
    add = helper.make_node("Add", [value.name, "offset"], ["stylized"])
    graph = helper.make_graph([add], "g", [value], [output], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = folder / name
    onnx.save(model, str(path))
    return path


def _wrong_inputs(folder: Path) -> Path:
    """Four-channel input named 'pixels' instead of float (1, 3, H, W) 'image'."""
    value = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 4, "h", "w"])
    offset = numpy_helper.from_array(np.zeros((1, 4, 1, 1), np.float32), "offset")
    return _image_model(folder, "wrong-inputs.onnx", value, [offset])


def _outside_data(folder: Path) -> Path:
    """An otherwise fine model whose weight tensor lives in '../secret.bin'."""
    model_dir = folder / "models"
    model_dir.mkdir()
    (folder / "secret.bin").write_bytes(np.zeros(3, np.float32).tobytes())
    value = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])
    offset = onnx.TensorProto(name="offset", data_type=TensorProto.FLOAT, dims=[1, 3, 1, 1])
    offset.data_location = TensorProto.EXTERNAL
    offset.external_data.add(key="location", value="../secret.bin")
    return _image_model(model_dir, "outside-data.onnx", value, [offset])


# name -> (builder, a phrase the one-line error must contain)
BAD_MODELS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not-onnx": (_not_onnx, "not an ONNX model"),
    "wrong-inputs": (_wrong_inputs, "'pixels'"),
    "external-data-outside": (_outside_data, "outside"),
}
