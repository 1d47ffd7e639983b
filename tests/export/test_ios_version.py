"""The minimum iOS we state is the one the written file needs (its Core ML spec version)."""

from __future__ import annotations

import pytest
import torch

from engine.card import ModelCard
from engine.cli import main
from engine.export.coreml.ios_bundle import write_ios_bundle
from engine.export.coreml.ios_version import minimum_ios, model_minimum_ios, spec_version
from engine.export.to_onnx import export_onnx
from engine.models.config import DEFAULT_NET_PRESET, net_preset
from engine.models.transformer import TransformerNet

pytest.importorskip("coremltools")


@pytest.mark.parametrize(("spec", "ios"), [(1, "11"), (2, "11.2"), (3, "12"), (4, "13"),
                                           (5, "14"), (6, "15"), (7, "16"), (8, "17")])
def test_spec_versions_map_to_their_ios(spec, ios):
    assert minimum_ios(spec) == ios


def test_default_network_bundle_says_ios_14(tmp_path, capsys):
    """The default network's pixel shuffle needs spec 5: README and CLI say iOS 14, not 12."""
    torch.manual_seed(0)
    card = ModelCard(name="default-net", title="Default", preset=DEFAULT_NET_PRESET)
    model = export_onnx(TransformerNet(net_preset(DEFAULT_NET_PRESET)), card,
                        tmp_path / "default-net.onnx")
    folder = write_ios_bundle(model, tmp_path / "out")
    assert spec_version(folder / "DefaultNet.mlmodel") == 5
    assert model_minimum_ios(folder) == "14"
    readme = (folder / "README.md").read_text()
    assert "iOS 14 or later" in readme and "iOS 12" not in readme

    capsys.readouterr()
    assert main(["export", str(model), "--coreml", "-o", str(tmp_path / "D.mlmodel")]) == 0
    assert "iOS 14 or later" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    usage = capsys.readouterr().out
    assert "default network needs iOS 14" in usage and "iOS 12+" not in usage
