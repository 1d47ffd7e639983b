"""The ONNX Runtime stylizer: sizes, strength, colour keeping, tiling, webcam path, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from style_models import export_random, read_rgb

import engine.runtime.stylizer
from engine.errors import BackendUnavailableError, ImageFormatError, ModelLoadError
from engine.io.model_files import load_network, read_card
from engine.runtime.stylizer import Stylizer


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return export_random(tmp_path_factory.mktemp("model") / "tiny.onnx", seed=2)


@pytest.fixture(scope="module")
def stylizer(model_path):
    return Stylizer(model_path, threads=2)


@pytest.fixture
def photo(bundled_photos) -> np.ndarray:
    return read_rgb(bundled_photos[1])


def diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


def test_output_has_input_size(stylizer, photo):
    odd = photo[:257, :383]  # not multiples of 4: padded, run, cropped
    out = stylizer.stylize(odd)
    assert out.shape == odd.shape and out.dtype == np.uint8
    assert diff(out, odd).mean() > 10  # the network changed it
    assert stylizer.card.name == "tiny" and "CPUExecutionProvider" in stylizer.providers
    assert stylizer.input_name == "image"


def test_strength(stylizer, photo):
    assert np.array_equal(stylizer.stylize(photo, strength=0.0), photo)
    full = stylizer.stylize(photo).astype(np.float32)
    half = stylizer.stylize(photo, strength=0.5).astype(np.float32)
    assert np.abs(half - (full + photo) / 2).max() <= 1.0


def test_preserve_colors_keeps_chroma(stylizer, photo):
    def chroma(rgb):
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(np.int16)

    kept = stylizer.stylize(photo, preserve_colors=True)
    plain = stylizer.stylize(photo)
    def luma(rgb):
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.int16)

    assert np.abs(luma(kept) - luma(plain)).mean() < 2
    kept_error = np.abs(chroma(kept) - chroma(photo))
    assert kept_error.mean() < 1.0  # only where R, G or B clipped at 0 or 255
    assert np.percentile(kept_error, 99) <= 2
    assert np.abs(chroma(plain) - chroma(photo)).mean() > 5 * kept_error.mean() + 2


def test_max_size_runs_smaller_and_returns_full_size(stylizer, photo):
    small = stylizer.stylize(photo, max_size=128)
    assert small.shape == photo.shape
    assert diff(small, stylizer.stylize(photo)).mean() > 5  # strokes at another scale


def test_tiles_match_untiled(stylizer, bundled_photos):
    photo = read_rgb(bundled_photos[2], size=(640, 480))
    untiled = stylizer.stylize(photo, tile_size=10_000)
    tiled = stylizer.stylize(photo, tile_size=256)  # 3 x 2 tiles with feathered overlaps
    assert stylizer._tiler is not None
    assert diff(tiled, untiled).max() <= 3


def test_large_images_are_tiled_automatically(model_path, photo, monkeypatch):
    stylizer = Stylizer(model_path, threads=2)
    stylizer.stylize(photo)
    assert stylizer._tiler is None
    # A memory budget of 200 x 200 px for seed-tiny's 9 full-resolution channels.
    monkeypatch.setattr(engine.runtime.stylizer, "ACTIVATION_BUDGET", 4 * 9 * 4 * 200 * 200)
    auto = stylizer.stylize(photo)
    assert stylizer._tiler is not None
    # Above the budget the statistics pass also runs downscaled, so the result is not the
    # untiled one (see the report on downscaled statistics), but it is the explicit tiling.
    assert np.array_equal(auto, stylizer.stylize(photo, tile_size=200))


def test_run_frame_matches_stylize(stylizer, photo):
    frame = np.ascontiguousarray(photo[:240, :320])
    first = stylizer.run_frame(frame)
    assert diff(first, stylizer.stylize(frame)).max() <= 1
    assert np.array_equal(stylizer.run_frame(frame), first)  # buffers reused, not stale
    with pytest.raises(ImageFormatError, match="multiples of 4"):
        stylizer.run_frame(frame[:239])


@pytest.mark.parametrize("bad", [
    np.zeros((32, 32, 3), np.float32), np.zeros((32, 32), np.uint8),
    np.zeros((32, 32, 4), np.uint8), np.zeros((0, 32, 3), np.uint8), [[1, 2, 3]],
], ids=["float", "gray", "rgba", "empty", "list"])
def test_bad_arrays(stylizer, bad):
    with pytest.raises(ImageFormatError):
        stylizer.stylize(bad)


def test_unknown_provider(model_path):
    with pytest.raises(BackendUnavailableError, match="NoSuchExecutionProvider"):
        Stylizer(model_path, providers=["NoSuchExecutionProvider"])


def identity_model(path, *, name="image", shape=(1, 3, "h", "w"), elem=TensorProto.FLOAT,
                   inputs=1, external=None):
    """A tiny non-TinyStyle model: output = input (optionally with an external-data weight)."""
    ins = [helper.make_tensor_value_info(f"{name}{i or ''}", elem, shape) for i in range(inputs)]
    nodes = [helper.make_node("Identity", [ins[0].name], ["y"])]
    inits = []
    if external is not None:
        zero = helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
        zero.data_location = TensorProto.EXTERNAL
        zero.ClearField("float_data")
        zero.external_data.add(key="location", value=external)
        inits.append(zero)
        nodes = [helper.make_node("Add", [ins[0].name, "zero"], ["y"])]
    out = helper.make_tensor_value_info("y", elem, shape)
    graph = helper.make_graph(nodes, "g", ins, [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path.write_bytes(model.SerializeToString())
    return path


def test_foreign_model_runs(tmp_path, photo):
    stylizer = Stylizer(identity_model(tmp_path / "other.onnx", name="x"))
    assert stylizer.input_name == "x" and stylizer.card.name == "other"
    assert np.array_equal(stylizer.stylize(photo), photo)
    assert np.array_equal(stylizer.stylize(photo, tile_size=128), photo)
    with pytest.raises(ModelLoadError, match="not 'image'"):  # but it is not ours
        load_network(tmp_path / "other.onnx")


BAD_MODELS = {
    "text": (lambda p: p.write_text("hello, not a model"), "not an ONNX model"),
    "jpeg": (lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + bytes(200)), "not an ONNX model"),
    "two-inputs": (lambda p: identity_model(p, inputs=2), "2 inputs"),
    "rank-3": (lambda p: identity_model(p, shape=(3, "h", "w")), "rank 3"),
    "int-input": (lambda p: identity_model(p, elem=TensorProto.INT32), "not float32"),
    "four-channels": (lambda p: identity_model(p, shape=(1, 4, "h", "w")), "4 channels"),
    "escaping-data": (lambda p: identity_model(p, external="../secret.bin"), "outside"),
    "absolute-data": (lambda p: identity_model(p, external="/etc/passwd"), "outside"),
    "missing-data": (lambda p: identity_model(p, external="weights.bin"), "missing"),
}


@pytest.mark.parametrize("kind", sorted(BAD_MODELS))
def test_bad_model_files(tmp_path, kind):
    make, message = BAD_MODELS[kind]
    (tmp_path / "secret.bin").write_bytes(bytes(4))
    folder = tmp_path / "models"
    folder.mkdir()
    path = folder / f"{kind}.onnx"
    make(path)
    for load in (Stylizer, read_card, load_network):
        with pytest.raises(ModelLoadError, match=message) as info:
            load(path)
        assert str(path) in str(info.value)


def test_external_data_inside_the_folder_is_fine(tmp_path, photo):
    (tmp_path / "weights.bin").write_bytes(np.zeros(1, np.float32).tobytes())
    stylizer = Stylizer(identity_model(tmp_path / "ext.onnx", external="weights.bin"))
    assert np.array_equal(stylizer.stylize(photo), photo)
    assert onnx.load(str(tmp_path / "ext.onnx"), load_external_data=False).graph.initializer


def test_default_network_tiles_without_seams(bundled_photos):
    """The shipped fast design tiles with its own receptive radius (not a guessed halo)."""
    from engine.io import paths

    stylizer = Stylizer(paths.bundled_styles_dir() / "starry-night.onnx", threads=2)
    photo = read_rgb(bundled_photos[1])
    untiled = stylizer.stylize(photo, tile_size=10_000)
    tiled = stylizer.stylize(photo, tile_size=192)
    assert stylizer._tiler is not None and stylizer._tiler.halo < 96
    assert diff(tiled, untiled).max() <= 3


def test_progress_between_tiles_can_cancel(stylizer, photo):
    from engine.errors import Cancelled

    seen: list[float] = []

    def cancel_after_two(fraction: float, message: str) -> None:
        seen.append(fraction)
        if len(seen) == 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        stylizer.stylize(photo, tile_size=128, progress=cancel_after_two)
    assert seen == sorted(seen) and len(seen) == 2


@pytest.mark.parametrize("channels", [1, 4])
def test_a_model_copied_in_by_hand_with_wrong_channels_is_a_clear_error(tmp_path, photo,
                                                                        channels):
    """Import refuses such models; one copied straight into the styles folder fails cleanly."""
    from hostile_cases import channels_model

    stylizer = Stylizer(channels_model(tmp_path / "bad.onnx", channels))
    with pytest.raises(ModelLoadError, match="not an RGB image"):
        stylizer.stylize(photo)
