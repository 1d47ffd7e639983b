"""The iOS bundle: folder and zip with the model, preview, README (Xcode steps, Swift) and card."""

from __future__ import annotations

import json
import zipfile

import pytest
import torch

from engine.card import ModelCard
from engine.export.coreml.ios_bundle import class_name, readme, write_ios_bundle
from engine.export.coreml.reference import load_spec
from engine.export.coreml.sizes import SizeRange
from engine.export.to_onnx import export_onnx
from engine.io.images import load_image
from engine.models.config import net_preset
from engine.models.transformer import TransformerNet

pytest.importorskip("coremltools")

FILES = ["README.md", "StarryNight.mlmodel", "model-card.json", "preview.jpg"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """Random weights: the bundle's plumbing is under test, not the looks."""
    torch.manual_seed(1)
    card = ModelCard(name="starry-night", title="The Starry Night", artist="Vincent van Gogh",
                     year="1889", preset="seed-tiny")
    return export_onnx(TransformerNet(net_preset("seed-tiny")), card,
                       tmp_path_factory.mktemp("model") / "starry-night.onnx")


def test_bundle_contents(model, tmp_path):
    progress = []
    folder = write_ios_bundle(model, tmp_path, progress=lambda f, m: progress.append(f))
    assert folder == tmp_path / "StarryNight-iOS"
    assert sorted(p.name for p in folder.iterdir()) == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["StarryNight-iOS",
                                                          "StarryNight-iOS.zip"]
    with zipfile.ZipFile(tmp_path / "StarryNight-iOS.zip") as archive:
        files = sorted(n for n in archive.namelist() if not n.endswith("/"))
        assert files == [f"StarryNight-iOS/{n}" for n in FILES]
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)

    card = json.loads((folder / "model-card.json").read_text())
    assert (card["name"], card["artist"], card["size_multiple"]) == (
        "starry-night", "Vincent van Gogh", 4)
    spec = load_spec(folder / "StarryNight.mlmodel")
    assert spec.description.metadata.userDefined["title"] == "The Starry Night"
    preview = load_image(folder / "preview.jpg").rgb
    assert preview.shape[1] > preview.shape[0]  # photo and stylized photo side by side

    readme = (folder / "README.md").read_text()
    for needle in ("StarryNight(configuration: MLModelConfiguration())", "VNCoreMLModel(for:",
                   "VNCoreMLRequest(model:", "VNPixelBufferObservation",
                   "CMSampleBufferGetImageBuffer", "AVCaptureVideoDataOutputSampleBufferDelegate",
                   "multiples of 4", "stylizedImage"):
        assert needle in readme, needle


def test_the_readme_gives_the_apps_near_black_guard_where_the_card_has_one():
    card = ModelCard(name="composition-viii", dark_colour="#241e22", dark_lift=16)
    text = readme(card, "CompositionViii", SizeRange(), "13")
    assert "## Dark areas" in text and "(#241e22)" in text and "(16)" in text
    assert "## Dark areas" not in readme(ModelCard(name="x"), "X", SizeRange(), "13")


def test_second_bundle_replaces_the_first(model, tmp_path):
    first = write_ios_bundle(model, tmp_path)
    (first / "stale.txt").write_text("old")
    second = write_ios_bundle(model, tmp_path)
    assert second == first and not (second / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["StarryNight-iOS",
                                                          "StarryNight-iOS.zip"]


@pytest.mark.parametrize("name, expected", [
    ("starry-night", "StarryNight"), ("great_wave 2", "GreatWave2"), ("1889", "Style1889"),
])
def test_class_name_is_a_swift_identifier(name, expected):
    assert class_name(ModelCard(name=name)) == expected
