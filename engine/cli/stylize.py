"""`tinystyle stylize`: apply a style to image files and folders, or to one video file.

One Stylizer serves the whole batch. A bad file is reported on one line and skipped; the run
goes on and exits 2 at the end. Inputs are never overwritten, outputs only with --overwrite.
A video input (by its extension) is stylized frame by frame into a new video with its audio.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.progress_bar import ProgressBar
from engine.errors import StudioError
from engine.io.files import check_file_name

if TYPE_CHECKING:
    from engine.styles import Style

log = logging.getLogger(__name__)

FORMATS = ("png", "jpg", "webp")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stylize", help="apply a style to images, folders or a video",
        description="Apply a style to image files and folders (recursively), or to one video "
                    "file (same frame rate, length and audio). Writes <stem>-<style>.<ext> "
                    "beside each input (or in --out-dir; a video becomes .mp4) and prints each "
                    "written path.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files or folders, or one video file (.mp4, .mov, .mkv...)")
    p.add_argument("--style", required=True, metavar="NAME|MODEL.onnx",
                   help="a style name (see `tinystyle styles`) or an .onnx model file")
    p.add_argument("--strength", type=float, default=1.0,
                   help="0..1: blend of the original (0) and the stylized image (1)")
    p.add_argument("--preserve-colors", action="store_true",
                   help="keep the photo's colours, take only the style's light and texture")
    p.add_argument("--stroke-size", type=float, metavar="S",
                   help="images: size of the style's strokes relative to the picture, the same "
                        "at any resolution (default 1; 2 doubles them, 0.5 halves them; "
                        "0.25..4)")
    p.add_argument("--max-size", type=_positive_int, metavar="N",
                   help="video: run the network at most N px on the long side (faster, coarser "
                        "strokes)")
    p.add_argument("--tile-size", type=_positive_int, metavar="N",
                   help="process big images in N px tiles to bound memory")
    p.add_argument("--threads", type=_positive_int, metavar="N", help="CPU threads for inference")
    where = p.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, metavar="OUT",
                       help="output file (only with a single input image)")
    where.add_argument("--out-dir", type=Path, metavar="DIR",
                       help="write outputs here (sub-folders of folder inputs are mirrored)")
    p.add_argument("--format", choices=FORMATS,
                   help="output format (default: the input's, or png if it cannot be written)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing outputs (inputs are never replaced)")
    p.add_argument("--no-steady", dest="steady", action="store_false",
                   help="video: skip the temporal filter that keeps still parts from shimmering")
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


@dataclass
class Job:
    """One input image and where its result goes; ``problem`` set when it must be skipped."""

    source: Path
    target: Path
    problem: str = ""


def run(args: argparse.Namespace) -> int:
    from engine.io.images import find_images  # numpy and Pillow: only when stylizing
    from engine.runtime.capture import VIDEO_SUFFIXES  # OpenCV: likewise

    if not 0.0 <= args.strength <= 1.0:
        raise StudioError(f"--strength {args.strength:g} is outside 0..1",
                          hint="0 keeps the photo, 1 is the full style")
    videos = [p for p in map(Path, args.inputs) if p.suffix.lower() in VIDEO_SUFFIXES
              and not p.is_dir()]
    if videos:
        return _run_video(videos, args)
    if args.max_size is not None:
        raise StudioError("--max-size is for videos; an image's strokes are set by --stroke-size",
                          hint="--stroke-size 2 gives strokes twice as big")
    from engine.runtime.stylizer import check_stroke_size  # onnxruntime: only when stylizing

    args.stroke_size = 1.0 if args.stroke_size is None else args.stroke_size
    check_stroke_size(args.stroke_size)
    images = find_images(args.inputs)
    if not images:
        raise StudioError(f"no image files found in: {', '.join(map(str, args.inputs))}")
    if args.output is not None:
        _check_single_output(args, len(images))
    # Imported here: it pulls in onnxruntime, which `tinystyle --help` does not need.
    from engine.runtime.stylizer import Stylizer

    style = _find_style(args)
    stylizer = Stylizer(style.path, threads=args.threads)
    jobs = plan_jobs(images, args, style.name)
    failures = _run_jobs(jobs, stylizer, args)
    if failures and len(jobs) > 1:
        print(f"error: {failures} of {len(jobs)} images failed", file=sys.stderr)
    return 2 if failures else 0


def _find_style(args: argparse.Namespace) -> Style:
    """The style to apply, checked (onnxruntime is imported here: `--help` needs none)."""
    from engine.styles import check_style_file, find_style

    style = find_style(args.style)
    if not style.bundled:  # the checks an import makes: a model file may be anything
        check_style_file(style.path)
    return style


def _run_video(videos: list[Path], args: argparse.Namespace) -> int:
    """One video in, one stylized video out (``<stem>-<style>.mp4`` unless -o names it)."""
    from engine.runtime.video import output_format, probe_video, stylize_video

    if len(args.inputs) != 1:
        raise StudioError(f"{videos[0]}: a video is stylized on its own, not with other inputs",
                          hint="run `tinystyle stylize` once per video")
    if args.format or args.tile_size:
        raise StudioError("--format and --tile-size are for images; a video's format follows "
                          "its output name (-o out.mp4)")
    if args.stroke_size is not None:
        raise StudioError("--stroke-size is for images; a video runs at its own resolution",
                          hint="--max-size N caps it (faster, coarser strokes)")
    source = videos[0]
    info = probe_video(source)  # bad input and outputs fail before the model loads
    style = _find_style(args)
    name = f"{source.stem}-{style.name}.mp4"
    target = args.output or (args.out_dir / name if args.out_dir else source.with_name(name))
    output_format(target)
    if target.exists() and not args.overwrite:
        raise StudioError(f"{target}: already exists (use --overwrite to replace it)")
    from engine.runtime.stylizer import Stylizer

    stylizer = Stylizer(style.path, threads=args.threads)
    with ProgressBar(info.frames, "stylize") as bar:
        result = stylize_video(
            source, target, stylizer, strength=args.strength,
            preserve_colors=args.preserve_colors, max_size=args.max_size, steady=args.steady,
            progress=lambda fraction, message: bar.update(bar.done + 1, suffix=source.name))
    log.info("%s: %d frames, %s, audio %s", target, result.frames, result.video_codec,
             result.audio or "none")
    print(target)
    return 0


def _check_single_output(args: argparse.Namespace, count: int) -> None:
    """-o: one input image, and a suffix we can write that agrees with --format."""
    if count != 1:
        raise StudioError(f"-o/--output takes a single input image, got {count}",
                          hint="use --out-dir for several images")
    from engine.io.images import SAVE_FORMATS, save_format

    fmt = save_format(args.output)
    if args.format and fmt != SAVE_FORMATS[f".{args.format}"]:
        raise StudioError(f"{args.output}: suffix disagrees with --format {args.format}")


def _run_jobs(jobs: list[Job], stylizer, args: argparse.Namespace) -> int:
    """Stylize each job, printing written paths to stdout; return the number that failed."""
    failures = 0
    with ProgressBar(len(jobs), "stylize", enabled=None if len(jobs) > 1 else False) as bar:
        for done, job in enumerate(jobs):
            bar.update(done, suffix=job.source.name)  # show the file being worked on
            try:
                if job.problem:
                    raise StudioError(job.problem)
                _stylize_one(job, stylizer, args)
                bar.write(str(job.target), file=sys.stdout)
            except StudioError as exc:
                failures += 1
                bar.write(f"error: {_naming(job.source, exc.message)}")
        bar.update(len(jobs))
    return failures


def _stylize_one(job: Job, stylizer, args: argparse.Namespace) -> None:
    from engine.io.images import load_image, save_image

    image = load_image(job.source)
    rgb = stylizer.stylize(image.rgb, strength=args.strength, preserve_colors=args.preserve_colors,
                           stroke_size=args.stroke_size, tile_size=args.tile_size)
    if job.target.exists() and not args.overwrite:  # may have appeared while we worked
        raise StudioError(f"{job.target}: already exists (use --overwrite to replace it)")
    save_image(job.target, rgb, image.alpha)


def _naming(source: Path, message: str) -> str:
    """``<file>: <problem>``: most messages already start with a path; add the input's if not."""
    return message if message.startswith(str(source)) else f"{source}: {message}"


def plan_jobs(images: list[Path], args: argparse.Namespace, style_name: str) -> list[Job]:
    """Decide every output path up front and flag the ones that must not be written."""
    input_ids = {_file_id(p) for p in images}
    folders = [Path(p) for p in args.inputs if Path(p).is_dir()]
    jobs: list[Job] = []
    claimed: dict[tuple, Path] = {}
    for image in images:
        target = args.output or _default_target(image, folders, args, style_name)
        target_id = _file_id(target)
        jobs.append(Job(image, target, _problem(target, target_id, input_ids, claimed, args)))
        claimed.setdefault(target_id, image)
    return jobs


def _problem(target: Path, target_id: tuple, input_ids: set[tuple], claimed: dict[tuple, Path],
             args: argparse.Namespace) -> str:
    """Why ``target`` must not be written, or "" when it may."""
    try:
        check_file_name(target)  # before exists(): a too-long name makes it raise
    except StudioError as exc:
        return exc.message
    if target_id in input_ids:
        return f"{target}: output would replace an input image (choose another name)"
    if target_id in claimed:
        return f"{target}: output name already used for {claimed[target_id]}"
    if target.exists() and not args.overwrite:
        return f"{target}: already exists (use --overwrite to replace it)"
    return ""


def _default_target(image: Path, folders: list[Path], args: argparse.Namespace,
                    style_name: str) -> Path:
    """``<stem>-<style>.<ext>`` beside the input, or under --out-dir mirroring folder inputs."""
    if args.format:
        suffix = f".{args.format}"
    else:
        from engine.io.images import SAVE_FORMATS

        suffix = image.suffix.lower() if image.suffix.lower() in SAVE_FORMATS else ".png"
    name = f"{image.stem}-{style_name}{suffix}"
    if args.out_dir is None:
        return image.with_name(name)
    for folder in folders:
        if image.is_relative_to(folder):
            return args.out_dir / image.relative_to(folder).parent / name
    return args.out_dir / name


def _file_id(path: Path) -> tuple:
    """Identity of a file however it is spelled: device and inode if it exists, else the
    resolved path (symlinks and ``..`` followed)."""
    try:
        stat = os.stat(path)
        return ("inode", stat.st_dev, stat.st_ino)
    except OSError:  # missing, a symlink loop, a name too long...
        return ("path", os.path.realpath(path))
