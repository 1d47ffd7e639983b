"""``tinystyle-studio --self-test``: prove that this build works, headless, one line per check.

A frozen app breaks in ways the source-tree tests cannot see (a data file, Qt plugin or hidden
import left out), so this drives the real engine paths inside the built app, in a throw-away
user folder, and exits 1 if any included check fails. A build without torch (the light build)
reports training and Core ML export as not included instead of failing them; one without the
painting teacher, instant styles.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import numpy as np

from engine.deps import INSTANT_MISSING, instant_included, training_included

PHOTO = "mvtb-flowers1.jpg"  # the bundled photo stylized with every bundled style
MAX_SIZE = 320  # px: small enough to be quick, large enough to run every layer for real
TRAIN_STEPS = 2
VIDEO_FRAMES = 8  # frames of the synthetic clip the live path reads
NOT_INCLUDED = "not included in this build (no torch: the light build)"


class Skipped(Exception):  # noqa: N818 (an outcome, not an error)
    """A check whose feature this build leaves out."""


def run_self_test(out: TextIO | None = None) -> int:
    """Run every check, print ``<check>: ok|FAIL|skipped (detail)`` lines; 0 if none failed."""
    out = out or sys.stdout
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="tinystyle-self-test-") as tmp:
        work = Path(tmp)
        os.environ["TINYSTYLE_HOME"] = str(work / "home")  # never the user's styles or settings
        failed = 0
        for name, check in _checks(work):
            start = time.perf_counter()
            try:
                detail, status = check(), "ok"
            except Skipped as exc:
                detail, status = str(exc), "skipped"
            except Exception as exc:  # noqa: BLE001 (a failed check must not hide the others)
                detail, status = f"{type(exc).__name__}: {exc}", "FAIL"
                failed += 1
            seconds = time.perf_counter() - start
            print(f"{name}: {status} ({detail}; {seconds:.2f} s)", file=out, flush=True)
        print(f"self-test: {'FAILED' if failed else 'passed'}"
              f"{f' ({failed} failed)' if failed else ''}", file=out, flush=True)
    return 1 if failed else 0


def _checks(work: Path) -> list[tuple[str, Callable[[], str]]]:
    from engine.styles import list_styles

    styles = [s for s in list_styles() if s.bundled]
    checks: list[tuple[str, Callable[[], str]]] = [("resources", lambda: _resources(styles))]
    checks.append(("window", _window))
    checks += [(f"stylize {s.name}", lambda s=s: _stylize(s.path)) for s in styles]
    checks.append(("live video", lambda: _live_video(styles[0].path, work)))
    checks.append(("instant style", lambda: _instant(styles[0].thumbnail, work)))
    checks.append(("train", lambda: _train(styles[0].thumbnail, work)))
    smallest = min(styles, key=lambda s: s.weights) if styles else None
    checks.append(("coreml export", lambda: _coreml(smallest.path if smallest else None, work)))
    return checks


def _photo() -> np.ndarray:
    from engine.io.images import load_image
    from engine.io.paths import bundled_photos_dir

    return load_image(bundled_photos_dir() / PHOTO).rgb


def _resources(styles: list) -> str:
    from engine.io.paths import bundled_photos_dir, resources_dir
    from studio.application import stylesheet

    if not styles:
        raise RuntimeError(f"no bundled styles in {resources_dir()}")
    photos = len(list(bundled_photos_dir().glob("*.jpg")))
    return f"{len(styles)} styles, {photos} photos, stylesheet {len(stylesheet())} chars"


def _window() -> str:
    """The real main window, shown and closed: Qt plugins, stylesheet, icons, panes."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.application import create_app
    from studio.main_window import MainWindow
    from studio.workers.thread import wait_for_parked

    app = create_app(sys.argv[:1])
    settings = QSettings(os.path.join(os.environ["TINYSTYLE_HOME"], "settings.ini"),
                         QSettings.Format.IniFormat)
    start = time.perf_counter()
    window = MainWindow(settings)
    window.show()
    QApplication.processEvents()
    shown = time.perf_counter() - start
    window.close()
    if not wait_for_parked(10_000):
        raise RuntimeError("background threads still running 10 s after closing the window")
    return f"{app.platformName()} platform, built and shown in {shown:.2f} s"


def _stylize(model: Path) -> str:
    from engine.runtime.stylizer import Stylizer

    photo = _photo()
    out = Stylizer(model).stylize(photo, max_size=MAX_SIZE)
    _check_stylized(photo, out)
    return f"{out.shape[1]}x{out.shape[0]}, changed {_change(photo, out):.0f}/255 on average"


def _change(before: np.ndarray, after: np.ndarray) -> float:
    return float(np.abs(before.astype(np.int16) - after.astype(np.int16)).mean())


def _check_stylized(photo: np.ndarray, out: np.ndarray) -> None:
    """Same size, really changed, not flat: a broken runtime gives zeros or the input back."""
    if out.shape != photo.shape or out.dtype != np.uint8:
        raise RuntimeError(f"output {out.shape} {out.dtype} for input {photo.shape}")
    if _change(photo, out) < 2 or out.std() < 5:
        raise RuntimeError("output is the photo unchanged or a flat image")


def _live_video(model: Path, work: Path) -> str:
    """The webcam mode's path on a synthetic clip: OpenCV writes it, LiveFeed reads it back."""
    import cv2

    from engine.runtime.capture import CaptureSource
    from engine.runtime.live import LiveFeed, stylize_frame
    from engine.runtime.stylizer import Stylizer

    frame = cv2.cvtColor(cv2.resize(_photo(), (320, 240)), cv2.COLOR_RGB2BGR)
    clip = work / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    for _ in range(VIDEO_FRAMES):
        writer.write(frame)
    writer.release()
    stylizer, feed = Stylizer(model), LiveFeed(CaptureSource(path=str(clip)), pace_fps=0)
    try:
        for rgb in feed.frames(threading.Event(), limit=VIDEO_FRAMES):
            _check_stylized(rgb, stylize_frame(stylizer, rgb))
    finally:
        feed.close()
    return f"{feed.frames_read} frames of a {clip.suffix} clip read and stylized"


def _instant(painting: Path | None, work: Path) -> str:
    """An instant style made the app's way (teacher's style vector into the template ONNX,
    no torch), then used."""
    if not instant_included():
        raise Skipped(f"not included in this build ({INSTANT_MISSING})")
    from engine.training import instant_onnx
    from engine.training.teacher import PaintingTeacher

    if painting is None:
        raise RuntimeError("the first bundled style has no painting to make a style from")
    rgb = instant_onnx.read_painting(painting)
    vector = PaintingTeacher(rgb, threads=1).style_vector
    model = instant_onnx.write_instant_style(instant_onnx.load_template(), vector, rgb,
                                             painting.name, "self-test-instant", "Self test",
                                             work)
    return f"{model.name} {model.stat().st_size} B; {_stylize(model)}"


def _train(style_image: Path | None, work: Path) -> str:
    """Two real optimiser steps with the VGG19 loss network, at tiny sizes, then use the model."""
    if not training_included():
        raise Skipped(NOT_INCLUDED)
    from engine.io.paths import bundled_photos_dir
    from engine.runtime.stylizer import Stylizer
    from engine.training.config import TrainConfig
    from engine.training.trainer import Trainer

    if style_image is None:
        raise RuntimeError("the first bundled style has no painting to train on")
    config = TrainConfig(image_size=64, batch_size=2, steps=TRAIN_STEPS, style_size=64,
                         preview_every=0, checkpoint_every=0)
    photos = sorted(bundled_photos_dir().glob("*.jpg"))[:4]
    result = Trainer(config, style_image, photos, work / "run", name="self-test").run()
    photo = _photo()
    out = Stylizer(result.onnx_path).stylize(photo, max_size=128)
    if out.shape != photo.shape:
        raise RuntimeError(f"the trained model gave {out.shape} for {photo.shape}")
    return f"{result.steps} steps, {result.onnx_path.name} {result.onnx_path.stat().st_size} B"


def _coreml(model: Path | None, work: Path) -> str:
    """Convert a bundled style and run the written spec with the engine's numpy reference."""
    if not training_included():
        raise Skipped(NOT_INCLUDED)
    from engine.export.coreml.convert import export_coreml
    from engine.export.coreml.ios_version import model_minimum_ios
    from engine.export.coreml.reference import evaluate, load_spec

    if model is None:
        raise RuntimeError("no bundled style to convert")
    path = export_coreml(model, work / "style.mlmodel")
    rgb = np.asarray(_photo()[:64, :64])
    out = evaluate(load_spec(path), rgb)
    if out.shape[:2] != rgb.shape[:2]:
        raise RuntimeError(f"the Core ML spec gave {out.shape} for {rgb.shape}")
    return f"{path.stat().st_size} B, iOS {model_minimum_ios(path)}+, reference run ok"
