"""Exported models load and agree everywhere their card says they run (issue 14).

Each fresh export of every network preset, and each bundled style, runs in every runtime
installed here: ONNX Runtime, OpenCV DNN and the ONNX reference evaluator, and must match the
app's own output (``Stylizer``) within a grey level. A runtime older than the card's
``min_runtimes`` is skipped with the reason; one the card names must load the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.ops import load_op
from style_models import export_random, read_rgb

from engine.card import ModelCard
from engine.errors import ExportError, ImageFormatError
from engine.export.to_onnx import IR_VERSION, OPSET, to_opset
from engine.io import paths
from engine.io.model_files import read_card
from engine.models.config import NET_PRESETS
from engine.runtime.live import stylize_frame
from engine.runtime.stylizer import Stylizer

BUNDLED = sorted(paths.bundled_styles_dir().glob("*.onnx"))
PHOTOS = sorted(paths.bundled_photos_dir().glob("*.jpg"))
SIZE = (48, 32)  # (width, height): small for the reference evaluator, not square
Run = Callable[[Path, np.ndarray], np.ndarray]  # (model, float32 NCHW) -> float32 NCHW


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict[str, Path]:
    """A random-weight int8 export of every preset, and a float32 one of the default."""
    folder = tmp_path_factory.mktemp("presets")
    models = {p: export_random(folder / f"{p}.onnx", preset=p, seed=2) for p in NET_PRESETS}
    models["fast-16-r5-zs-fp32"] = export_random(folder / "fp32.onnx", preset="fast-16-r5-zs",
                                                 seed=2, quantize_weights=False)
    return models


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return read_rgb(PHOTOS[0], SIZE)


def run_onnxruntime(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": x})[0]


def run_opencv(path: Path, x: np.ndarray) -> np.ndarray:
    net = cv2.dnn.readNetFromONNX(str(path))
    net.setInput(x)
    return net.forward()


class DequantizeLinear(load_op("", "DequantizeLinear")):
    """onnx.reference implements DequantizeLinear from opset 19 on only; the newest one, with
    its new attributes at their defaults, computes what opset 13 defines for int8 weights."""

    op_domain = ""


def run_reference(path: Path, x: np.ndarray) -> np.ndarray:
    evaluator = ReferenceEvaluator(str(path), new_ops=[DequantizeLinear])
    return evaluator.run(None, {"image": x})[0]


# runtime -> (name in min_runtimes, installed version, how to run a model)
RUNTIMES: dict[str, tuple[str, str, Run]] = {
    "onnxruntime": ("onnxruntime", ort.__version__, run_onnxruntime),
    "opencv": ("opencv-dnn", cv2.__version__, run_opencv),
    "reference": ("onnx", onnx.__version__, run_reference),
}


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def skip_if_too_old(path: Path, runtime: str) -> None:
    """Skip where the installed runtime is older than the card's claim for it."""
    name, installed, _ = RUNTIMES[runtime]
    claims = dict(re.findall(r"([\w.-]+)>=([\d.]+)", read_card(path).min_runtimes))
    if name in claims and version(installed) < version(claims[name]):
        pytest.skip(f"{path.name} needs {name}>={claims[name]}; {installed} is installed")


def check_agrees(path: Path, runtime: str, rgb: np.ndarray) -> None:
    skip_if_too_old(path, runtime)
    x = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
    out = RUNTIMES[runtime][2](path, x)
    assert out.shape == x.shape, f"{runtime} returned {out.shape} for {x.shape}"
    got = np.clip(np.rint(out[0].transpose(1, 2, 0)), 0, 255)
    # the network as the app runs it; the card's near-black guard is the runtime's to apply
    app = Stylizer(path, threads=1, dark_guard=False).stylize(rgb).astype(np.float32)
    assert np.abs(got - app).max() <= 1.0, f"{runtime} differs from the app on {path.name}"


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
@pytest.mark.parametrize("preset", [*sorted(NET_PRESETS), "fast-16-r5-zs-fp32"])
def test_fresh_export_runs_everywhere(fresh, photo, preset, runtime):
    check_agrees(fresh[preset], runtime, photo)


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
@pytest.mark.parametrize("model", BUNDLED, ids=lambda p: p.stem)
def test_bundled_style_runs_everywhere(model, photo, runtime):
    check_agrees(model, runtime, photo)


@pytest.mark.parametrize("model", [*BUNDLED[:1], None], ids=["bundled", "fresh"])
def test_file_is_old_enough_and_says_what_it_expects(fresh, model):
    path = model or fresh["fast-16-r5-zs"]
    onnx_model = onnx.load(str(path))
    assert (onnx_model.ir_version, [o.version for o in onnx_model.opset_import]) == \
        (IR_VERSION, [OPSET])
    onnx.checker.check_model(onnx_model, full_check=True)
    card = read_card(path)
    assert card.min_runtimes.startswith("onnxruntime>=") and "opencv-dnn>=" in card.min_runtimes
    assert f"multiples of {card.size_multiple}" in onnx_model.doc_string
    assert "RGB" in onnx_model.doc_string and "0..255" in onnx_model.doc_string
    (image,), (stylized,) = onnx_model.graph.input, onnx_model.graph.output
    assert "NCHW" in image.doc_string and stylized.doc_string
    assert [d.dim_param for d in stylized.type.tensor_type.shape.dim[2:]] == \
        [d.dim_param for d in image.type.tensor_type.shape.dim[2:]]
    dequantize = [n for n in onnx_model.graph.node if n.op_type == "DequantizeLinear"]
    assert dequantize and all(a.name == "axis" and a.i == 0 for n in dequantize
                              for a in n.attribute)


def test_old_cards_without_min_runtimes_still_load():
    meta = ModelCard(name="old").to_metadata()
    del meta["min_runtimes"]
    assert ModelCard.from_metadata(meta).min_runtimes == ""


def test_a_newer_attribute_in_use_is_refused(tmp_path):
    """Resize antialias=1 has no opset-13 form: refused, not silently dropped."""
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear", antialias=1)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [helper.make_tensor("s", onnx.TensorProto.FLOAT, [4], [1, 1, 2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(ExportError, match="antialias"):
        to_opset(model, tmp_path / "m.onnx")


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (13, 9), (50, 33), (31, 30)])
def test_sizes_not_multiples_of_4_come_back_the_same_size(fresh, size):
    """The app pads and crops (whole images, tiles, live frames); the fast path refuses."""
    stylizer = Stylizer(fresh["fast-16-r5-zs"], threads=1)
    rgb = read_rgb(PHOTOS[1], size)
    expected = (size[1], size[0], 3)
    assert stylizer.stylize(rgb).shape == expected
    assert stylizer.stylize(rgb, tile_size=16).shape == expected
    assert stylize_frame(stylizer, rgb).shape == expected
    if size[0] % 4 or size[1] % 4:
        with pytest.raises(ImageFormatError, match="multiples of 4"):
            stylizer.run_frame(rgb)
