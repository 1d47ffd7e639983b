"""Issue 13, engine side: each hostile file of the issue ends in a result or one clean error."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hostile_cases import (
    BAD_CARDS,
    BAD_CHECKPOINTS,
    BAD_GRAPHS,
    slow_model,
    small_checkpoint_state,
    with_metadata,
    write_postscript_jpg,
)
from image_cases import noise_rgb, png_bytes
from PIL import EpsImagePlugin
from style_models import export_random

from engine import styles
from engine.errors import ImageFormatError, ModelLoadError, StudioError, TrainingError
from engine.io import files, paths
from engine.io.images import MAX_PIXELS, find_images, load_image, save_image
from engine.training.checkpoint import load_resumable, previous_path, save_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> Path:
    return export_random(tmp_path_factory.mktemp("src") / "tiny.onnx")


def _no_user_styles() -> bool:
    folder = paths.user_styles_dir()
    return not folder.exists() or not any(folder.iterdir())


# 1 -----------------------------------------------------------------------------------------

def test_postscript_named_jpg_never_reaches_ghostscript(tmp_path, monkeypatch):
    def ghostscript(*args, **kwargs):
        raise AssertionError("the EPS plugin was asked to decode")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", ghostscript)
    path = write_postscript_jpg(tmp_path)
    started = time.monotonic()
    with pytest.raises(ImageFormatError, match="not an image file") as info:
        load_image(path)
    assert str(path) in info.value.message and time.monotonic() - started < 5


# 2 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(BAD_CARDS))
def test_import_refuses_bad_card_fields(tmp_path, tiny_onnx, case):
    bad = with_metadata(tiny_onnx, tmp_path / f"{case}.onnx", **BAD_CARDS[case](tiny_onnx))
    with pytest.raises(ModelLoadError, match="model card is corrupt") as info:
        styles.import_user_style(bad)
    assert str(bad) in info.value.message and "\n" not in info.value.message
    assert _no_user_styles()


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_import_refuses_graphs_that_crash_or_hang(tmp_path, case):
    build, phrase = BAD_GRAPHS[case]
    bad = build(tmp_path / f"{case}.onnx")
    started = time.monotonic()
    with pytest.raises(ModelLoadError) as info:
        styles.import_user_style(bad)
    assert phrase in info.value.message and str(bad) in info.value.message
    assert time.monotonic() - started < styles.CHECK_SECONDS
    assert _no_user_styles()


def test_the_allowed_ops_cover_every_bundled_style():
    import onnx

    from engine.io.model_files import ALLOWED_OPS

    for model in paths.bundled_styles_dir().glob("*.onnx"):
        assert {n.op_type for n in onnx.load(str(model)).graph.node} <= ALLOWED_OPS, model


def test_a_slow_model_is_stopped_at_the_time_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(styles, "CHECK_SECONDS", 0.05)
    started = time.monotonic()
    with pytest.raises(ModelLoadError, match="did not finish a 1024x1024 test image"):
        styles.check_style_file(slow_model(tmp_path / "slow.onnx"))
    assert time.monotonic() - started < 5  # stopped, not run to the end


def test_a_good_model_still_imports(tiny_onnx):
    assert styles.import_user_style(tiny_onnx, name="fine").name == "fine"


# 3 -----------------------------------------------------------------------------------------

def test_symlink_loop_is_one_image_error(tmp_path):
    loop = tmp_path / "a.jpg"
    (tmp_path / "b.jpg").symlink_to(loop)
    loop.symlink_to(tmp_path / "b.jpg")
    assert find_images([loop, tmp_path]) == [loop]
    with pytest.raises(ImageFormatError, match="symbolic link loop"):
        load_image(loop)


def test_too_long_output_name_is_a_clean_error(tmp_path):
    with pytest.raises(StudioError, match="file name too long") as info:
        save_image(tmp_path / ("x" * 296 + ".png"), noise_rgb())
    assert "\n" not in info.value.message


@pytest.mark.parametrize("case", sorted(BAD_CHECKPOINTS))
def test_loadable_checkpoint_with_wrong_contents_is_a_training_error(tmp_path, case):
    state = small_checkpoint_state()
    BAD_CHECKPOINTS[case](state)
    path = tmp_path / "checkpoint.pt"
    torch.save({"format_version": 1, **state}, path)
    with pytest.raises(TrainingError, match="checkpoint") as info:
        load_resumable(path)
    assert str(path) in info.value.message


# 4 -----------------------------------------------------------------------------------------

def test_legal_249_byte_name_saves(tmp_path):
    target = tmp_path / ("n" * 245 + ".png")
    assert len(target.name.encode()) == 249
    assert load_image(save_image(target, noise_rgb())).rgb.shape == noise_rgb().shape
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


# 5 -----------------------------------------------------------------------------------------

def test_trainer_refuses_a_run_name_that_leaves_the_runs_folder(tmp_path):
    from engine.training.config import TRAIN_PRESETS
    from engine.training.trainer import Trainer

    with pytest.raises(StudioError, match="not a valid style name"):
        Trainer(TRAIN_PRESETS["quick"], tmp_path / "p.jpg", name="../../../x")


# 6 -----------------------------------------------------------------------------------------

KILLED_WRITER = """
import sys, time
from engine.io.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half")
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_temp_left_by_kill_9_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out.png"
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    temp = Path(child.stdout.readline().strip())
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert temp.exists() and temp.name.startswith(files.TEMP_PREFIX)
    fresh = tmp_path / f"{files.TEMP_PREFIX}busy.png"  # another process's write in progress
    fresh.write_bytes(b"busy")
    old = time.time() - files.STALE_SECONDS - 60
    os.utime(temp, (old, old))
    save_image(tmp_path / "next.png", noise_rgb())
    assert not temp.exists() and fresh.exists() and not target.exists()


# 8 -----------------------------------------------------------------------------------------

def test_corrupt_last_checkpoint_falls_back_to_the_previous(tmp_path, caplog):
    path = tmp_path / "checkpoint.pt"
    state = small_checkpoint_state()
    save_checkpoint(path, state)
    save_checkpoint(path, {**state, "step": 2})
    assert previous_path(path).is_file()
    path.write_bytes(path.read_bytes()[:100])  # torn write
    with caplog.at_level(logging.WARNING, logger="engine.training.checkpoint"):
        assert load_resumable(path)["step"] == 1
    assert "previous checkpoint" in caplog.text and str(path) in caplog.text



def test_a_checkpoint_is_in_place_at_every_step_of_saving_the_next(tmp_path, monkeypatch):
    """A kill between any two renames of a save still leaves checkpoint.pt to resume from."""
    path = tmp_path / "checkpoint.pt"
    state = small_checkpoint_state()
    save_checkpoint(path, state)
    present, replace = [], os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: present.append(path.is_file()) or
                        replace(a, b))
    save_checkpoint(path, {**state, "step": 2})
    assert present and all(present)
    assert load_resumable(path)["step"] == 2
    assert load_resumable(previous_path(path))["step"] == 1

# 9 -----------------------------------------------------------------------------------------

def test_88_megapixel_image_is_refused_from_its_header(tmp_path):
    path = tmp_path / "zeros.png"
    path.write_bytes(png_bytes(9380, 9380, 8, 2, None))  # 88 MP, under Pillow's 89 MP
    assert MAX_PIXELS < 9380 * 9380
    with pytest.raises(ImageFormatError, match="too large"):
        load_image(path)


PEAK_RSS = """
import resource, sys
from engine.io.images import load_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
image = load_image(sys.argv[1])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024)
"""


def test_decoding_keeps_to_the_stated_memory_bound(tmp_path):
    """Peak RSS growth of load_image on a 12 MP PNG of zeros: under 10 bytes per pixel."""
    from PIL import Image

    side = 3464  # 12 MP: big enough to measure, fast enough to decode
    path = tmp_path / "zeros.png"
    Image.new("RGB", (side, side)).save(path)
    out = subprocess.run([sys.executable, "-c", PEAK_RSS, str(path)], cwd=REPO, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    assert int(out) < 10 * side * side, f"{int(out) / side / side:.1f} bytes per pixel"
