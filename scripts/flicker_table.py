"""Issue #15's table: how much every built-in style flickers on the shared clips, raw and
steadied, and whether steadying costs any of the look (docs/flicker/README.md).

Per style and clip: the live path over the first ``--frames`` frames at the live working size
(what ``tinystyle bench --flicker`` measures), one network run per frame, flicker of the raw and
of the steadied stream, overall and on static pixels. Then the style judge: ``--judge-frames``
frames spread over each clip, raw and steadied (the filter's output having run over the clip up
to that frame), each scored by the judge's style distance to the style's painting (from its
recipe); the table gives steadied/raw (issue #15: at most 1.05).

    python scripts/flicker_table.py > /tmp/flicker.md
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from engine.io import paths
from engine.runtime.flicker import Flicker, measure_flickers, raw_and_steadied
from engine.runtime.live import TemporalFilter
from engine.runtime.stylizer import Stylizer
from engine.styles import list_styles

if TYPE_CHECKING:
    from engine.training.judge import Judge

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
CLIPS = (DATA / "video" / "opencv-vtest.mp4", DATA / "video" / "mvtb-traffic.mp4")
SIZE = (640, 480)  # fit inside, as tinystyle bench --flicker (the clips are 640x480)
GOAL_FLICKER, GOAL_JUDGE = 1.2, 1.05  # issue #15: steadied flicker, judge steadied/raw


def painting_of(style: str) -> Path:
    """The painting a built-in was trained on, from its recipe."""
    recipe = tomllib.loads((paths.bundled_styles_dir() / "recipes" / f"{style}.toml").read_text())
    return DATA / "styles" / recipe["painting"]["file"]


def judge_frames(count: int, picks: int) -> list[int]:
    """``picks`` frame indices spread evenly over ``count`` frames (centres of equal spans)."""
    return sorted({min(count - 1, int((k + 0.5) * count / picks)) for k in range(picks)})


def _say(message: str) -> None:
    print(f"flicker_table: {message}", file=sys.stderr, flush=True)


class StyleScore:
    """The judge's style distance of frames to one painting (lower = closer)."""

    def __init__(self, judge: Judge, painting: Path):
        from engine.io.images import load_image

        self.judge = judge
        self.painting = judge.painting(load_image(painting).rgb)

    def __call__(self, rgb: np.ndarray) -> float:
        return float(self.judge.style_distance(rgb, self.judge.features(rgb),
                                               self.painting)["mean"])


def measure(style, clip: Path, *, frames: int, picks: int, floor: float, motion: float,
            threads: int) -> tuple[Flicker, Flicker, list[tuple[int, np.ndarray, np.ndarray]]]:
    """Raw and steadied flicker of ``style`` on ``clip``, and the (index, raw, steadied) frames
    picked for the judge."""
    stylizer = Stylizer(style.path, threads=threads)
    both = raw_and_steadied(stylizer, TemporalFilter(floor=floor, motion_levels=motion))
    wanted, kept, seen = set(judge_frames(frames, picks)) if picks else set(), [], [0]

    def frame(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw, held = both(rgb)
        if seen[0] in wanted:
            kept.append((seen[0], raw.copy(), held.copy()))
        seen[0] += 1
        return raw, held

    raw, held = measure_flickers(frame, clip, frames=frames, size=SIZE)
    return raw, held, kept


class NumpyLookupFilter:
    """TemporalFilter as first written (numpy fancy-indexed weights, fresh temporaries): the
    reference for ``--cost``."""

    def __init__(self, floor: float = 0.15, motion_levels: float = 16.0) -> None:
        self._weight_of = np.clip(np.arange(256, dtype=np.float32) / motion_levels, floor, 1.0)
        self._grey = self._out = None

    def __call__(self, source: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        grey = cv2.blur(cv2.cvtColor(source, cv2.COLOR_RGB2GRAY), (5, 5))
        previous, self._grey = self._grey, grey
        if self._out is None or previous is None or self._out.shape != stylized.shape:
            self._out = stylized
            return stylized
        weight = self._weight_of[cv2.absdiff(grey, previous)]
        self._out = cv2.blendLinear(stylized, self._out, weight, 1.0 - weight)
        return self._out


def filter_cost(clip: Path, style, *, frames: int = 101, rounds: int = 7) -> str:
    """Per-frame cost of TemporalFilter (its output blend as shipped and without the motion
    spread, and the whole live frame: hold plus output blend) and of the reference on
    ``frames`` stylized frames of ``clip`` (median per round, rounds alternating), and the
    largest output difference between the unspread filter and the reference."""
    import threading

    from engine.runtime.capture import CaptureSource
    from engine.runtime.live import LiveFeed, stylize_frame

    stylizer = Stylizer(style.path, threads=2)
    feed = LiveFeed(CaptureSource(path=str(clip)), size=SIZE, pace_fps=0)
    pairs = [(rgb, stylize_frame(stylizer, rgb))
             for rgb in feed.frames(threading.Event(), limit=frames)]
    feed.close()
    ours, ref = TemporalFilter(spread=1), NumpyLookupFilter()
    worst = max(int(np.abs(ours(s, o).astype(np.int16) - ref(s, o)).max()) for s, o in pairs)
    def output_only(steady, s, o):
        steady(s, o)

    def live_frame(steady, s, o):  # as stylize_frame steadies: hold, then the output blend
        steady.hold(s)
        steady(s, o)

    kinds = {"TemporalFilter": (TemporalFilter, output_only),
             "hold + output (live)": (TemporalFilter, live_frame),
             "without the spread": (lambda: TemporalFilter(spread=1), output_only),
             "numpy lookup (before)": (NumpyLookupFilter, output_only)}
    medians: dict[str, list[float]] = {name: [] for name in kinds}
    order = list(kinds.items())
    for r in range(rounds):
        for name, (kind, frame) in order if r % 2 else order[::-1]:
            steady, times = kind(), []
            frame(steady, *pairs[0])
            for s, o in pairs[1:]:
                start = time.perf_counter()
                frame(steady, s, o)
                times.append(time.perf_counter() - start)
            medians[name].append(1000 * float(np.median(times)))
    h, w = pairs[0][0].shape[:2]
    lines = [f"filter cost at {w}x{h}, {style.name} on {clip.name} (median of {frames - 1} "
             f"frames per round, {rounds} rounds; cv2 threads {cv2.getNumThreads()}):"]
    lines += [f"  {name:<22} {np.median(m):5.2f} ms  (rounds: "
              f"{' '.join(f'{x:.2f}' for x in m)})" for name, m in medians.items()]
    lines.append(f"  largest output difference, without the spread: {worst} grey levels")
    return "\n".join(lines)


LOOK = ((0, 70), (1, 87))  # (clip, frame) for --look: pedestrians walking; cars and a tram
LOOK_SIDE = 160  # px, the 1:1 window around the most moving part of the frame


def look(clips: list[Path], style, out: Path) -> None:
    """1:1 windows on moving subjects, one row per LOOK entry: source | raw | steadied |
    |steadied - raw| x4 (trails or ghosts would show as copies of a subject behind it)."""
    import threading

    from engine.runtime.capture import CaptureSource
    from engine.runtime.live import LiveFeed

    rows = []
    for clip_index, frame in LOOK:
        clip = clips[min(clip_index, len(clips) - 1)]
        both = raw_and_steadied(Stylizer(style.path, threads=2), TemporalFilter())
        feed = LiveFeed(CaptureSource(path=str(clip)), size=SIZE, pace_fps=0)
        previous = rgb = None
        for now in feed.frames(threading.Event(), limit=frame + 1):
            previous, rgb = rgb, now
            raw, held = both(rgb)  # every frame, so the filter has its history
        feed.close()
        grey = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32) for x in (previous, rgb)]
        motion = cv2.boxFilter(cv2.absdiff(*grey), -1, (LOOK_SIDE, LOOK_SIDE))
        y, x = np.unravel_index(np.argmax(motion), motion.shape)
        top = int(np.clip(y - LOOK_SIDE // 2, 0, rgb.shape[0] - LOOK_SIDE))
        left = int(np.clip(x - LOOK_SIDE // 2, 0, rgb.shape[1] - LOOK_SIDE))
        win = (slice(top, top + LOOK_SIDE), slice(left, left + LOOK_SIDE))
        change = np.clip(np.abs(held[win].astype(np.int16) - raw[win]) * 4, 0, 255)
        rows.append(np.hstack([rgb[win], raw[win], held[win], change.astype(np.uint8)]))
        _say(f"look: {clip.name} frame {frame}, window at ({left}, {top})")
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--styles", help="comma list of built-ins (default: all)")
    parser.add_argument("--clips", nargs="*", type=Path, default=list(CLIPS))
    parser.add_argument("--frames", type=int, default=150, help="frames per clip (default 150)")
    parser.add_argument("--judge-frames", type=int, default=6,
                        help="frames per clip scored by the judge (0: no judge)")
    parser.add_argument("--floor", type=float, default=None,
                        help="TemporalFilter floor (default: the filter's)")
    parser.add_argument("--motion-levels", type=float, default=None,
                        help="TemporalFilter motion_levels (default: the filter's)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    parser.add_argument("--json", type=Path, help="also write every row here")
    parser.add_argument("--cost", action="store_true",
                        help="only time the filter against its numpy-lookup reference")
    parser.add_argument("--look", type=Path, metavar="JPG",
                        help="only write 1:1 windows on moving subjects, raw vs steadied")
    args = parser.parse_args()
    defaults = inspect.signature(TemporalFilter).parameters
    floor = defaults["floor"].default if args.floor is None else args.floor
    motion = defaults["motion_levels"].default if args.motion_levels is None \
        else args.motion_levels
    styles = [s for s in list_styles() if s.bundled]
    if args.styles:
        wanted = [n.strip() for n in args.styles.split(",") if n.strip()]
        styles = sorted((s for s in styles if s.name in wanted), key=lambda s: s.name)
    else:
        styles.sort(key=lambda s: s.name)
    clips = [c for c in args.clips if c.is_file()]
    for c in set(args.clips) - set(clips):
        _say(f"{c} not found: skipped")
    if not styles or not clips:
        _say("nothing to measure")
        return 1
    if args.look:
        look(clips, next((s for s in styles if s.name == "starry-night"), styles[0]), args.look)
        return 0
    if args.cost:
        print(filter_cost(clips[0], next((s for s in styles if s.name == "starry-night"),
                                         styles[0])))
        return 0
    judge = None
    if args.judge_frames:
        import torch

        from engine.training.judge import Judge

        torch.set_num_threads(args.threads)
        judge = Judge()
    print(f"TemporalFilter(floor={floor:g}, motion_levels={motion:g}); {args.frames} frames "
          f"per clip at {SIZE[0]}x{SIZE[1]}; judge: {args.judge_frames} frames per clip\n")
    print("| style | clip | raw overall | raw static | steadied overall | steadied static "
          "| judge raw | judge steadied | steadied/raw |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows, started = [], time.monotonic()
    for style in styles:
        score = StyleScore(judge, painting_of(style.name)) if judge else None
        for clip in clips:
            _say(f"{style.name} on {clip.name} ({time.monotonic() - started:.0f} s)")
            raw, held, kept = measure(style, clip, frames=args.frames, picks=args.judge_frames,
                                      floor=floor, motion=motion, threads=args.threads)
            judged = [(i, score(r), score(h)) for i, r, h in kept] if score else []
            row = {"style": style.name, "clip": clip.name, "frames": raw.frames,
                   "static_share": raw.static_share,
                   "raw_overall": raw.overall, "raw_static": raw.static,
                   "steady_overall": held.overall, "steady_static": held.static,
                   "judge_frames": [i for i, _, _ in judged],
                   "judge_raw": [r for _, r, _ in judged],
                   "judge_steady": [h for _, _, h in judged]}
            rows.append(row)
            print(_row(row), flush=True)
    print(_summary(rows))
    if args.json:
        args.json.write_text(json.dumps({"floor": floor, "motion_levels": motion,
                                         "rows": rows}, indent=1))
    _say(f"done in {time.monotonic() - started:.0f} s")
    return 0


def _row(row: dict) -> str:
    cells = [f"`{row['style']}`", row["clip"].removesuffix(".mp4")]
    for key in ("raw_overall", "raw_static", "steady_overall", "steady_static"):
        mark = " **!**" if key.startswith("steady") and row[key] > GOAL_FLICKER else ""
        cells.append(f"{row[key]:.2f}{mark}")
    if row["judge_raw"]:
        raw, held = np.mean(row["judge_raw"]), np.mean(row["judge_steady"])
        cells += [f"{raw:.3f}", f"{held:.3f}", f"{held / raw:.3f}"]
    else:
        cells += ["-", "-", "-"]
    return "| " + " | ".join(cells) + " |"


def _summary(rows: list[dict]) -> str:
    """Per style over both clips: the worst steadied flicker and the judge ratio."""
    lines = ["", "| style | worst steadied flicker (overall / static) | judge steadied/raw "
             "(mean over frames) | worst frame |", "|---|---|---|---|"]
    failed = []
    for name in dict.fromkeys(r["style"] for r in rows):
        mine = [r for r in rows if r["style"] == name]
        overall = max(r["steady_overall"] for r in mine)
        static = max(r["steady_static"] for r in mine)
        raw = [v for r in mine for v in r["judge_raw"]]
        held = [v for r in mine for v in r["judge_steady"]]
        ratio = np.mean(held) / np.mean(raw) if raw else float("nan")
        worst = max((h / r for r, h in zip(raw, held, strict=True)), default=float("nan"))
        lines.append(f"| `{name}` | {overall:.2f} / {static:.2f} | {ratio:.3f} | {worst:.3f} |")
        if max(overall, static) > GOAL_FLICKER or ratio > GOAL_JUDGE:
            failed.append(name)
    lines.append("")
    lines.append(f"goal (steadied flicker <= {GOAL_FLICKER}, judge steadied/raw <= "
                 f"{GOAL_JUDGE}): " + (f"missed by {', '.join(failed)}" if failed else "met"))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
