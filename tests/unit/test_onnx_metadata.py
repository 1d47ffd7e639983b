"""The onnx-free metadata reader agrees with the onnx package on real and broken files."""

from __future__ import annotations

import onnx
import pytest

from engine.io import paths
from engine.io.onnx_metadata import read_metadata


def test_matches_onnx_on_every_bundled_style():
    for path in sorted(paths.bundled_styles_dir().glob("*.onnx")):
        meta, has_graph = read_metadata(path.read_bytes())
        model = onnx.load(str(path), load_external_data=False)
        assert meta == {p.key: p.value for p in model.metadata_props}, path.name
        assert has_graph and meta["name"] == path.stem


def test_no_graph_is_reported():
    model = onnx.ModelProto(ir_version=8)
    model.metadata_props.add(key="name", value="x")
    assert read_metadata(model.SerializeToString()) == ({"name": "x"}, False)


@pytest.mark.parametrize("data", [b"\x08", b"\x3a\x05abc", b"\xff" * 12, b"\x0b\x00", b"\x00"])
def test_garbage_is_a_value_error(data):
    with pytest.raises(ValueError):
        read_metadata(data)
