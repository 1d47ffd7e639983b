"""Core ML export: file size, spec structure and metadata, and the numpy reference evaluator's
agreement with ONNX Runtime on real photos (coremltools cannot predict off macOS)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.card import ModelCard
from engine.errors import ExportError, StudioError
from engine.export.coreml.convert import SizeRange, export_coreml, file_size
from engine.export.coreml.reference import UnsupportedLayerError, evaluate, load_spec, to_uint8
from engine.export.to_onnx import export_onnx
from engine.io.images import load_image
from engine.io.paths import bundled_photos_dir
from engine.models.config import net_preset
from engine.models.transformer import TransformerNet
from engine.runtime.stylizer import Stylizer

ct = pytest.importorskip("coremltools")

CARD = ModelCard(name="warm-test", title="Warm Test", artist="Nobody", year="2024",
                 preset="seed-tiny", licence="MIT", description="fitted for export tests")
# Agreement with ONNX Runtime, in grey levels (uint8 outputs): (mean, max) per weight width.
TOLERANCE = {8: (3.0, 12), 16: (1.0, 3), 32: (0.5, 1)}


def _photo(path, size=(256, 192)) -> np.ndarray:
    import cv2

    return cv2.resize(load_image(path).rgb, size, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def fitted_onnx(tmp_path_factory):
    """A seed-tiny net fitted for 20 steps to reproduce real photos.

    Its outputs span the whole 0..255 range like a trained style's, unlike random weights.
    """
    photos = sorted(bundled_photos_dir().glob("*.jpg"))[:4]
    torch.manual_seed(0)
    x = torch.stack([torch.from_numpy(_photo(p, (64, 64))).permute(2, 0, 1).float()
                     for p in photos])
    net = TransformerNet(net_preset("seed-tiny"))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(20):
        opt.zero_grad()
        loss = ((net(x) - x) / 255).pow(2).mean()
        loss.backward()
        opt.step()
    return export_onnx(net.eval(), CARD, tmp_path_factory.mktemp("model") / "warm-test.onnx")


@pytest.fixture(scope="module")
def mlmodels(fitted_onnx, tmp_path_factory):
    folder = tmp_path_factory.mktemp("coreml")
    return {bits: export_coreml(fitted_onnx, folder / f"Warm{bits}.mlmodel", bits=bits)
            for bits in (8, 16, 32)}


def test_8bit_seed_tiny_fits_the_size_budget(mlmodels):
    assert file_size(mlmodels[8]) <= 17_000
    assert file_size(mlmodels[8]) < file_size(mlmodels[16]) < file_size(mlmodels[32])


@pytest.mark.parametrize("bits", [8, 16, 32])
def test_reference_output_matches_onnx_runtime(bits, mlmodels, fitted_onnx, bundled_photos):
    spec = load_spec(mlmodels[bits])
    stylizer = Stylizer(fitted_onnx, threads=1)
    mean_tol, max_tol = TOLERANCE[bits]
    unclipped = []
    for path in bundled_photos[5:8]:
        rgb = _photo(path)
        expected = stylizer.stylize(rgb).astype(int)
        unclipped.append(np.mean((expected > 2) & (expected < 253)))
        got = to_uint8(evaluate(spec, rgb)).astype(int)
        diff = np.abs(got - expected)
        assert diff.mean() <= mean_tol and diff.max() <= max_tol, (path.name, diff.mean(),
                                                                   diff.max())
    # mostly unsaturated pixels, where quantisation errors show (clipped ones hide them); one
    # photo, a night scene, is half black by itself
    assert np.mean(unclipped) > 0.5, unclipped


def test_spec_structure_and_metadata(mlmodels):
    spec = load_spec(mlmodels[8])
    assert spec.specificationVersion == 3  # iOS 12: every layer is an iOS 11 one
    assert [f.name for f in spec.description.input] == ["image"]
    assert [f.name for f in spec.description.output] == ["stylizedImage"]
    for feature in (spec.description.input[0], spec.description.output[0]):
        image = feature.type.imageType
        assert feature.type.WhichOneof("Type") == "imageType"
        assert image.colorSpace == ct.proto.FeatureTypes_pb2.ImageFeatureType.RGB
        assert (image.width, image.height) == (640, 480)
        for bounds in (image.imageSizeRange.widthRange, image.imageSizeRange.heightRange):
            assert (bounds.lowerBound, bounds.upperBound) == (256, 1920)
    kinds = {layer.WhichOneof("layer") for layer in spec.neuralNetwork.layers}
    assert kinds == {"padding", "convolution", "batchnorm", "activation", "add", "upsample"}
    scaler = spec.neuralNetwork.preprocessing[0].scaler  # the folded x / 127.5 - 1
    assert scaler.channelScale == pytest.approx(1 / 127.5)
    assert (scaler.redBias, scaler.greenBias, scaler.blueBias) == (-1, -1, -1)
    meta = spec.description.metadata
    assert "Warm Test" in meta.shortDescription and "Nobody" in meta.shortDescription
    assert meta.author.startswith("TinyStyle Studio") and meta.license == "MIT"
    assert meta.versionString
    card = ModelCard.from_metadata(dict(meta.userDefined))
    assert (card.name, card.title, card.artist, card.preset) == (
        "warm-test", "Warm Test", "Nobody", "seed-tiny")
    assert card.model_config["alpha"] == net_preset("seed-tiny").alpha


def test_other_sizes_in_the_range_work(mlmodels, fitted_onnx, bundled_photos):
    """A size other than the converted default (here 1280x720 scaled down 4x, and 200x256)."""
    spec = load_spec(mlmodels[32])
    stylizer = Stylizer(fitted_onnx, threads=1)
    for size in [(320, 180), (200, 256)]:
        rgb = _photo(bundled_photos[0], size)
        diff = np.abs(to_uint8(evaluate(spec, rgb)).astype(int) - stylizer.stylize(rgb))
        assert diff.max() <= 1


def test_mlpackage_structure(fitted_onnx, tmp_path):
    path = export_coreml(fitted_onnx, tmp_path / "Warm.mlpackage", fmt="mlpackage", bits=8)
    assert path.is_dir() and file_size(path) < 60_000
    model = ct.models.MLModel(str(path), skip_model_load=True)
    spec = model.get_spec()
    assert spec.WhichOneof("Type") == "mlProgram"
    assert spec.specificationVersion >= 7  # iOS 16
    names = [(f.name, f.type.WhichOneof("Type")) for f in spec.description.input]
    assert names == [("image", "imageType")]
    out = spec.description.output[0]
    assert (out.name, out.type.WhichOneof("Type")) == ("stylizedImage", "imageType")
    assert spec.description.metadata.userDefined["name"] == "warm-test"
    ops = [op.type for op in spec.mlProgram.functions["main"].block_specializations[
        spec.mlProgram.functions["main"].opset].operations]
    assert ops.count("conv") == 12 and ops.count("instance_norm") == 11
    assert "constexpr_affine_dequantize" in ops or "constexpr_blockwise_shift_scale" in ops


@pytest.mark.parametrize("sizes", [
    SizeRange(min_side=250), SizeRange(max_side=9000), SizeRange(default=(2000, 480)),
    SizeRange(min_side=640, max_side=320),
])
def test_bad_size_range_is_refused_without_output(fitted_onnx, tmp_path, sizes):
    with pytest.raises(ExportError, match="size"):
        export_coreml(fitted_onnx, tmp_path / "Bad.mlmodel", sizes=sizes)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_target_and_bad_options(fitted_onnx, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StudioError, match="cannot write"):
        export_coreml(fitted_onnx, blocker / "Model.mlmodel")
    with pytest.raises(ExportError, match="bits"):
        export_coreml(fitted_onnx, tmp_path / "M.mlmodel", bits=4)
    with pytest.raises(ExportError, match="suffix"):
        export_coreml(fitted_onnx, tmp_path / "M.mlpackage", fmt="mlmodel")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_evaluator_refuses_unknown_layers(mlmodels):
    spec = load_spec(mlmodels[32])
    spec.neuralNetwork.layers[3].softmax.SetInParent()
    with pytest.raises(UnsupportedLayerError, match="softmax"):
        evaluate(spec, np.zeros((64, 64, 3), np.uint8))
