"""An instant style (issue #16) exports to Core ML like a trained one: 8-bit, at most the seed's
17,000 bytes, computing what ONNX Runtime computes on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from engine.export.coreml.convert import export_coreml
from engine.export.coreml.reference import evaluate, load_spec, to_uint8
from engine.io.images import load_image
from engine.runtime.stylizer import Stylizer
from engine.training.instant_onnx import load_template, write_instant_style
from tests.export.test_coreml_bundled import PHOTOS, SEED_SIZE_LIMIT
from tests.unit.test_instant_onnx import PAINTING, painting_like

pytest.importorskip("coremltools")


def test_instant_style_exports_8bit_under_17kb_and_computes_the_same(tmp_path,
                                                                    bundled_photos):
    import cv2

    template = load_template()
    style = write_instant_style(template, painting_like(template, 3), load_image(PAINTING).rgb,
                                PAINTING.name, "instant-export", "Instant", tmp_path)
    model = export_coreml(style, tmp_path / "instant.mlmodel")
    assert model.stat().st_size <= SEED_SIZE_LIMIT
    spec = load_spec(model)
    stylizer = Stylizer(style, threads=1, dark_guard=False)  # the graph carries no guard
    photos = {p.name: p for p in bundled_photos}
    for name in PHOTOS:
        rgb = cv2.resize(load_image(photos[name]).rgb, (320, 240))
        ours = stylizer.stylize(rgb)
        diff = np.abs(to_uint8(evaluate(spec, rgb)).astype(float) - ours)
        assert diff.mean() <= 3.0 and diff.max() <= 12, (name, diff.mean(), diff.max())
        assert np.abs(ours.astype(float) - rgb).mean() > 5  # a style, not the photo
