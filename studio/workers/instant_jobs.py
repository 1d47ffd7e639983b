"""Instant style job (issue #16): a painting becomes an installed style in seconds, no training.

The same engine steps as ``tinystyle instant`` (engine/cli/instant.py): the painting teacher's
predictor reads the painting's style vector, the shipped style map turns it into the network's
norm parameters, which are written into the shipped template ONNX (no torch, about a second),
and the style is installed like a trained one.
The model is written in a scratch folder under the runs folder and installed last, so a
cancelled or failed job leaves no file behind (a cancel that lands after the install removes
the style again).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import Cancelled
from studio.workers.job_worker import Job, JobContext

if TYPE_CHECKING:
    from engine.styles import Style

STEPS = ("reading the painting", "checking the painting teacher", "loading the instant model",
         "reading the painting's style", "writing the style", "installing the style")
SCRATCH_PREFIX = "instant-"  # scratch folders under the runs folder, removed when the job ends


@dataclass(frozen=True)
class InstantRequest:
    """What the gallery asks for: the painting, and the name and title derived from it."""

    painting: Path
    name: str
    title: str

    @classmethod
    def for_painting(cls, painting: Path, taken: set[str]) -> InstantRequest:
        """Name = the file stem as a style name, made unique against ``taken``; title = the
        stem in words ("van-gogh_church" -> "Van Gogh Church")."""
        base = style_name(painting.stem)
        name, n = base, 2
        while name in taken:
            suffix = f"-{n}"
            name, n = f"{base[:64 - len(suffix)]}{suffix}", n + 1
        return cls(painting, name, title_words(painting.stem))


def style_name(stem: str) -> str:
    """A valid style name (engine.styles.NAME_PATTERN) from any file stem."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")[:64].rstrip("-_")
    return slug or "instant-style"


def title_words(stem: str) -> str:
    words = [w for w in re.split(r"[\s_\-.]+", stem) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words) or stem


def taken_names() -> set[str]:
    """Names of the bundled and user styles (files on disk, not the gallery's last listing)."""
    from engine.io import paths

    folders = (paths.bundled_styles_dir(), paths.user_styles_dir())
    return {p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.onnx")}


def instant_style_job(painting: Path) -> Job:
    """Make and install an instant style from ``painting``; returns the installed ``Style``."""

    def job(ctx: JobContext) -> Style:
        def step(index: int) -> None:
            ctx.check()
            ctx.progress(index, len(STEPS), STEPS[index])

        from engine.io import paths
        from engine.training import instant_onnx, teacher

        step(0)
        request = InstantRequest.for_painting(painting, taken_names())
        rgb = instant_onnx.read_painting(request.painting)
        step(1)
        teacher.model_folder()  # not installed: say so before loading anything
        step(2)
        template = instant_onnx.load_template()
        step(3)
        vector = teacher.PaintingTeacher(rgb).style_vector
        step(4)
        runs = paths.user_runs_dir()
        runs.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=runs) as scratch:
            out = instant_onnx.write_instant_style(template, vector, rgb, request.painting.name,
                                                   request.name, request.title, Path(scratch))
            step(5)
            return _install(ctx, out, request.name)

    return job


def _install(ctx: JobContext, model: Path, name: str) -> Style:
    from engine.styles import delete_user_style, import_user_style

    style = import_user_style(model, name)
    try:
        ctx.check()  # cancelled while installing: take the style out again
    except Cancelled:
        delete_user_style(style.name)
        raise
    return style
