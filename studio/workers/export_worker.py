"""Export jobs: a style's Core ML bundle for iPhone, or a copy of its ONNX model."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.io.files import write_atomic
from studio.workers.job_worker import Job, JobContext


def ios_bundle_job(model_path: Path, out_dir: Path) -> Job:
    """Write the Core ML bundle for ``model_path`` under ``out_dir``; returns the bundle path.

    Cancel is checked at every progress step before the bundle is complete: the Core ML
    conversion itself cannot be interrupted, but a cancelled export leaves no files behind.
    """

    def job(ctx: JobContext) -> Path:
        from engine.export.coreml.ios_bundle import write_ios_bundle

        def report(fraction: float, message: str) -> None:
            if fraction < 1.0:  # at 1.0 the bundle is already in place
                ctx.check()
            ctx.progress(round(fraction * 100), 100, message)

        return Path(write_ios_bundle(model_path, out_dir, progress=report))

    return job


def onnx_copy_job(model_path: Path, target: Path) -> Job:
    """Copy the style's ONNX model to ``target`` atomically."""

    def job(ctx: JobContext) -> Path:
        return write_atomic(target, lambda tmp: shutil.copyfile(model_path, tmp))

    return job
