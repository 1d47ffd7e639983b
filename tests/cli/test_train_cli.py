"""`tinystyle train` and `tinystyle eval` end to end, with tiny sizes and real photos."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = ("--image-size", "64", "--batch-size", "1")


@pytest.fixture
def style_image(shared_data) -> Path:
    return shared_data / "styles" / "van-gogh-starry-night.jpg"


@pytest.fixture
def content(tmp_path, bundled_photos) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in bundled_photos[:3]:
        shutil.copy(path, folder / path.name)
    return folder


def test_train_installs_the_style_and_eval_scores_it(run_cli, tmp_path, style_image, content,
                                                     few_teacher_crops):
    code, out, err = run_cli("train", style_image, "--name", "tiny-starry", "--steps", "2",
                             "--content", content, "--out-dir", tmp_path / "runs", *TINY)
    assert code == 0, err
    run = tmp_path / "runs" / "tiny-starry"
    assert f"preview: {run / 'preview-sheet.png'}" in out
    assert "near-black: kept within" in out  # two steps leave a network that lifts them
    assert (run / "tiny-starry.onnx").is_file() and (run / "checkpoint.pt").is_file()
    assert "step 2/2" in err  # not a terminal: plain progress lines

    code, out, _ = run_cli("styles")
    assert code == 0 and "tiny-starry" in out

    code, out, err = run_cli("eval", "tiny-starry", run / "tiny-starry.onnx", "--content",
                             content, "--style", style_image, "--size", "64", "--limit", "2",
                             "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["model"] for r in rows] == ["tiny-starry", str(run / "tiny-starry.onnx")]
    for row in rows:
        assert {"model", "style_distance", "structure", "style_loss", "content_loss", "ssim",
                "images"} <= set(row)
        assert row["images"] == 2 and row["style_loss"] > 0 and -1 <= row["ssim"] <= 1
    assert rows[0]["ssim"] == pytest.approx(rows[1]["ssim"])


def test_resume_without_a_checkpoint_is_a_usage_error(run_cli, tmp_path, style_image):
    code, _, err = run_cli("train", style_image, "--name", "x", "--resume",
                           "--out-dir", tmp_path)
    assert code == 2
    assert "error:" in err and "checkpoint.pt" in err


def test_missing_style_image_is_a_usage_error(run_cli, tmp_path, content):
    code, _, err = run_cli("train", tmp_path / "nope.jpg", "--name", "x", "--content", content,
                           "--out-dir", tmp_path, *TINY)
    assert code == 2 and "nope.jpg" in err


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(run_cli, tmp_path, style_image, content):
    # quick: Ctrl-C and resume do not depend on the preset, and the default one paints
    # 2,400 teacher tiles first (~3 min)
    args = ["train", str(style_image), "--name", "cc", "--preset", "quick", "--steps", "100000",
            "--content", str(content), "--out-dir", str(tmp_path), "--no-install", *TINY]
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())", *args],
        cwd=REPO, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)})
    for line in proc.stderr:  # wait until training has really started
        if line.startswith("step 1/"):
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, rest
    assert "checkpoint saved" in rest and "--resume" in rest

    from engine.training.checkpoint import load_checkpoint

    step = load_checkpoint(tmp_path / "cc" / "checkpoint.pt")["step"]
    assert 0 < step < 100000
    code, out, err = run_cli(*args[:4], "--steps", str(step + 1), "--resume",
                             "--out-dir", tmp_path, "--no-install")
    assert code == 0, err
    assert load_checkpoint(tmp_path / "cc" / "checkpoint.pt")["step"] == step + 1


def test_an_invalid_style_name_fails_before_training(run_cli, tmp_path, style_image):
    code, _, err = run_cli("train", style_image, "--name", "Bad Name", "--out-dir", tmp_path)
    assert code == 2 and "not a valid style name" in err
    assert not (tmp_path / "Bad Name").exists()


def test_train_without_torch_is_one_clear_error(run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.deps.training_included", lambda: False)
    code, out, err = run_cli("train", tmp_path / "painting.jpg", "--name", "x")
    assert code == 2 and "PyTorch" in err and err.startswith("error: ")
