"""The style registry: bundled styles in ``resources/styles`` and the user's own styles.

Both folders share one layout: ``<name>.onnx`` plus an optional ``<name>.jpg`` thumbnail of the
painting (and ``recipes/<name>.toml`` for bundled ones). The file name is the style's name;
titles and credits come from the model card inside the file. Bundled styles are read-only.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.card import ModelCard
from engine.errors import ModelLoadError, StudioError, first_line
from engine.io import paths
from engine.io.cards import peek_card
from engine.io.files import atomic_path, write_bytes_atomic

if TYPE_CHECKING:
    import numpy as np
    import onnx

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
THUMBNAIL_SUFFIX = ".jpg"
CHECK_SIDE = 64  # px, side of the test image a model from outside must style first
CHECK_SECONDS = 10.0  # ...within this time (our models take milliseconds)


@dataclass(frozen=True)
class Style:
    """One installed style model and what the UI shows about it."""

    name: str  # file stem, the id used on the command line
    title: str
    artist: str
    year: str
    preset: str
    weights: int
    path: Path  # the .onnx file
    thumbnail: Path | None  # the painting, if there is one
    bundled: bool
    card: ModelCard


def list_styles() -> list[Style]:
    """Bundled styles first, then the user's, each group sorted by title.

    A broken file is skipped with a warning, so one bad import cannot hide every other style.
    """
    styles = []
    for folder, bundled in ((paths.bundled_styles_dir(), True), (paths.user_styles_dir(), False)):
        group = []
        for path in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
            try:
                group.append(_style(path, bundled))
            except StudioError as exc:
                log.warning("skipping style %s: %s", path, exc)
        styles.extend(sorted(group, key=lambda s: (s.title.lower(), s.name)))
    return styles


def find_style(name_or_path: str | os.PathLike) -> Style:
    """A listed style by name, or any .onnx file by path."""
    text = str(name_or_path)
    if text.lower().endswith(".onnx") or os.sep in text or Path(text).is_file():
        path = Path(text)
        return _style(path, path.resolve().parent == paths.bundled_styles_dir().resolve())
    styles = list_styles()
    for style in styles:
        if style.name == text:
            return style
    names = ", ".join(s.name for s in styles[:8]) or "none installed"
    raise StudioError(f"unknown style '{text}'", hint=f"styles: {names}; or give a .onnx path")


def check_style_file(path: str | os.PathLike) -> tuple[onnx.ModelProto, ModelCard]:
    """Open a model from outside and run it once on a small image under a time limit.

    ``open_onnx`` checks the file, its card and its operators; this run catches what only
    running shows (an output of the wrong shape, NaNs, ONNX Runtime refusing it, a very slow
    graph), before the model joins the gallery or starts a batch. Raises ``ModelLoadError``.
    """
    import numpy as np
    import onnxruntime as ort

    from engine.io.model_files import open_onnx
    from engine.runtime.sessions import session_options

    path = Path(path)
    model, card = open_onnx(path, ours=False)
    options = session_options(1, model)
    options.log_severity_level = 4  # fatal only: a failure is our one-line error, not a log line
    try:
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types
        raise ModelLoadError(f"{path}: ONNX Runtime cannot load it ({first_line(exc)})") \
            from None
    source = session.get_inputs()[0]
    side = -(-CHECK_SIDE // card.size_multiple) * card.size_multiple
    height, width = (d if isinstance(d, int) else side for d in source.shape[2:])
    image = np.full((1, 3, height, width), 128.0, np.float32)
    out = _run_with_time_limit(session, {source.name: image}, path, f"{width}x{height}")
    if not isinstance(out, np.ndarray) or out.shape != image.shape:
        shape = getattr(out, "shape", type(out).__name__)
        raise ModelLoadError(f"{path}: returns {shape} for a {image.shape} image, "
                             "not an image of the same shape",
                             hint="expected one float32 output (1, 3, H, W) RGB 0..255")
    if not np.isfinite(out).all():
        raise ModelLoadError(f"{path}: returns NaN or infinite values on a test image")
    return model, card


def _run_with_time_limit(session, feed: dict[str, np.ndarray], path: Path, size: str):
    """The first output of one run, or a ModelLoadError when it fails or exceeds the limit.

    The run happens on a helper thread; past the limit ONNX Runtime is told to stop (it checks
    between operators, and loops are refused before we get here).
    """
    import onnxruntime as ort

    options = ort.RunOptions()
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["out"] = session.run(None, feed, options)[0]
        except Exception as exc:  # ORT raises its own exception types
            result["error"] = exc

    worker = threading.Thread(target=run, name="model-check", daemon=True)
    worker.start()
    worker.join(CHECK_SECONDS)
    if worker.is_alive():
        options.terminate = True
        worker.join(CHECK_SECONDS)
        raise ModelLoadError(f"{path}: did not finish a {size} test image in {CHECK_SECONDS:g} s",
                             hint="only use model files from sources you trust")
    if "error" in result:
        raise ModelLoadError(f"{path}: fails on a {size} test image "
                             f"({first_line(result['error'])})")
    return result["out"]


def import_user_style(onnx_path: str | os.PathLike, name: str | None = None) -> Style:
    """Check a model runs, then copy it (and a ``.jpg`` beside it) into the user styles folder.

    Re-importing a user style replaces it; a bundled style's name is refused.
    """
    source = Path(onnx_path)
    model, card = check_style_file(source)
    name = name or _slug(card.name or source.stem)
    check_name(name)
    if (paths.bundled_styles_dir() / f"{name}.onnx").exists():
        raise StudioError(f"style '{name}' is bundled and cannot be replaced",
                          hint="import it under another name")
    target = paths.user_styles_dir() / f"{name}.onnx"
    for prop in model.metadata_props:  # the card names the style as the user named it
        if prop.key == "name":
            prop.value = name
    write_bytes_atomic(target, model.SerializeToString())  # external data becomes inline
    thumbnail = source.with_suffix(THUMBNAIL_SUFFIX)
    if thumbnail.is_file():
        with atomic_path(target.with_suffix(THUMBNAIL_SUFFIX)) as tmp:
            shutil.copyfile(thumbnail, tmp)
    log.info("imported style %s from %s", name, source)
    return _style(target, bundled=False)


def rename_user_style(name: str, new_name: str) -> Style:
    """Rename a user style's model and thumbnail."""
    old = _user_style_path(name)
    check_name(new_name)
    taken = [d / f"{new_name}.onnx" for d in (paths.bundled_styles_dir(), paths.user_styles_dir())]
    if any(p.exists() for p in taken):
        raise StudioError(f"a style named '{new_name}' already exists", hint="choose another name")
    new = old.with_name(f"{new_name}.onnx")
    thumbnail = old.with_suffix(THUMBNAIL_SUFFIX)
    if thumbnail.exists():
        os.replace(thumbnail, new.with_suffix(THUMBNAIL_SUFFIX))
    os.replace(old, new)
    return _style(new, bundled=False)


def delete_user_style(name: str) -> None:
    """Delete a user style's model and thumbnail."""
    path = _user_style_path(name)
    path.with_suffix(THUMBNAIL_SUFFIX).unlink(missing_ok=True)
    path.unlink()
    log.info("deleted style %s", name)


def _user_style_path(name: str) -> Path:
    if (paths.bundled_styles_dir() / f"{name}.onnx").exists():
        raise StudioError(f"style '{name}' is bundled and cannot be changed",
                          hint="only styles you imported or trained can be renamed or deleted")
    path = paths.user_styles_dir() / f"{name}.onnx"
    if not NAME_PATTERN.match(name) or not path.is_file():
        raise StudioError(f"no user style named '{name}'")
    return path


def check_name(name: str) -> None:
    """A style (and training run) name: it becomes a file and folder name, so no paths."""
    if not NAME_PATTERN.match(name):
        raise StudioError(
            f"'{name}' is not a valid style name",
            hint="use up to 64 lowercase letters, digits, '-' or '_' (not first)",
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:64] or "style"


def _style(path: Path, bundled: bool) -> Style:
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such style file")
    card = peek_card(path)
    thumbnail = path.with_suffix(THUMBNAIL_SUFFIX)
    return Style(
        name=path.stem, title=card.title or path.stem, artist=card.artist, year=card.year,
        preset=card.preset, weights=card.weights, path=path,
        thumbnail=thumbnail if thumbnail.is_file() else None, bundled=bundled, card=card,
    )
