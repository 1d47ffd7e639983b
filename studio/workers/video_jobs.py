"""The video export job: a whole clip stylized into a new file off the UI thread.

Unlike the live view it runs every frame at full size (the live view may shrink frames to keep
up) and steadied, with the clip's own timing and audio: ``engine.runtime.video`` does the work.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from studio.workers.inference_worker import InferenceSettings
from studio.workers.job_worker import Job, JobContext

if TYPE_CHECKING:
    from engine.runtime.video import VideoExport

PROGRESS_STEPS = 1000  # the progress signal carries integers: report per mille


def export_video_job(source: Path, target: Path, settings: InferenceSettings) -> Job:
    """Stylize ``source`` into ``target`` with ``settings``' style; returns the VideoExport.

    Cancel is checked between frames; a cancelled or failed export leaves no file.
    """

    def job(ctx: JobContext) -> VideoExport:
        from engine.runtime.stylizer import Stylizer
        from engine.runtime.video import stylize_video

        stylizer = Stylizer(settings.model_path)
        ctx.check()

        def report(fraction: float, message: str) -> None:
            ctx.progress(round(fraction * PROGRESS_STEPS), PROGRESS_STEPS, message)

        return stylize_video(source, target, stylizer, strength=settings.strength,
                             preserve_colors=settings.preserve_colors, progress=report,
                             cancel=ctx.token)

    return job
