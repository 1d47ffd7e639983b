"""Image-mode jobs that run off the UI thread: open a photo, save a result, stylize a batch.

Each factory returns a ``job(ctx)`` function for ``JobWorker``. Saving re-runs the network with
the preview's settings (the same stroke size, so the same working size) and never overwrites a
file: names get ``-2``, ``-3``... unless the user chose the exact target in a Save As dialog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.errors import ImageFormatError
from studio.workers.inference_worker import InferenceSettings
from studio.workers.job_worker import Job, JobContext

if TYPE_CHECKING:
    from engine.runtime.stylizer import Stylizer

DEFAULT_SUFFIX = ".png"


@dataclass
class LoadedImage:
    rgb: np.ndarray  # uint8 HxWx3
    alpha: np.ndarray | None
    path: Path | None  # None for a pasted image


@dataclass
class BatchItemDone:
    """One finished batch item, for the UI to show while the rest runs."""

    source: Path
    target: Path
    rgb: np.ndarray
    output: np.ndarray


def unique_path(path: Path) -> Path:
    """``path`` if free, else ``name-2.ext``, ``name-3.ext``...: never clobber a file."""
    candidate, n = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def output_name(source: Path | None, style: str, suffix: str | None = None) -> str:
    """``photo.jpg`` + ``starry-night`` -> ``photo-starry-night.jpg`` (format kept if savable)."""
    from engine.io.images import SAVE_FORMATS

    stem = source.stem if source is not None else "pasted"
    if suffix is None:
        own = source.suffix.lower() if source is not None else ""
        suffix = own if own in SAVE_FORMATS else DEFAULT_SUFFIX
    return f"{stem}-{style or 'original'}{suffix}"


def load_job(path: Path) -> Job:
    def job(ctx: JobContext) -> LoadedImage:
        from engine.io.images import load_image

        image = load_image(path)
        return LoadedImage(image.rgb, image.alpha, path)

    return job


def _stylize_full(settings: InferenceSettings, rgb: np.ndarray, stylizer: Stylizer | None,
                  ctx: JobContext, report: bool = False) -> np.ndarray:
    """Full-size result; big working sizes run in tiles, and Cancel is honoured between them.

    ``report`` also sends the tiles' progress (in percent) to the job's progress signal.
    """
    if stylizer is None:
        return rgb

    def between_tiles(fraction: float, message: str) -> None:
        ctx.check()
        if report:
            ctx.progress(round(fraction * 100), 100, message)

    return stylizer.stylize(rgb, strength=settings.strength,
                            preserve_colors=settings.preserve_colors,
                            stroke_size=settings.stroke_size, progress=between_tiles)


def _open_stylizer(settings: InferenceSettings) -> Stylizer | None:
    if not settings.model_path:
        return None
    from engine.runtime.stylizer import Stylizer

    return Stylizer(settings.model_path)


def save_job(image: LoadedImage, settings: InferenceSettings, target: Path,
             overwrite: bool = False) -> Job:
    """Stylize ``image`` at full size and write it to ``target`` (a free name unless told)."""

    def job(ctx: JobContext) -> Path:
        from engine.io.images import save_image

        stylizer = _open_stylizer(settings)
        ctx.check()  # loading the model and the full-size run each take seconds on big photos
        output = _stylize_full(settings, image.rgb, stylizer, ctx, report=True)
        ctx.check()  # a cancelled save writes nothing
        return save_image(target if overwrite else unique_path(target), output, image.alpha)

    return job


def batch_job(sources: list[Path], settings: InferenceSettings, out_dir: Path, style: str,
              suffix: str | None = None) -> Job:
    """Stylize every source into ``out_dir``; a bad file is reported and skipped."""

    def job(ctx: JobContext) -> list[Path]:
        from engine.io.images import load_image, save_image

        stylizer = _open_stylizer(settings)
        written: list[Path] = []
        for done, source in enumerate(sources):
            ctx.check()
            ctx.progress(done, len(sources), source.name)
            try:
                image = load_image(source)
                output = _stylize_full(settings, image.rgb, stylizer, ctx)
                ctx.check()  # before the full-size save: cancel never leaves one more file
                target = unique_path(out_dir / output_name(source, style, suffix))
                written.append(save_image(target, output, image.alpha))
            except ImageFormatError as exc:  # other errors (unwritable folder) end the batch
                ctx.item_failed(exc)
                continue
            ctx.partial(BatchItemDone(source, written[-1], image.rgb, output))
        ctx.progress(len(sources), len(sources), "")
        return written

    return job
