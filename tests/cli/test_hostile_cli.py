"""Issue 13, CLI side: hostile inputs end in exit 0 or exit 2 with one ``error:`` line, never
exit 1, and nothing else on stderr."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hostile_cases import (
    BAD_CARDS,
    BAD_CHECKPOINTS,
    BAD_GRAPHS,
    nan_on_black_model,
    small_checkpoint_state,
    with_metadata,
    write_postscript_jpg,
)
from image_cases import noise_rgb, write_jpeg

from engine.cli import main
from engine.io.images import save_image


@pytest.fixture
def run_fd(capfd):
    """Like run_cli, but captures the file descriptors: ONNX Runtime logs from C++."""
    def run(*args: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capfd.readouterr()
        return code, out, err

    return run


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("hint: ")]


def test_postscript_jpg_in_a_folder_batch_is_skipped(tmp_path, run_fd, tiny_model):
    write_postscript_jpg(tmp_path)
    good = write_jpeg(tmp_path / "good.jpg")
    code, out, err = run_fd("stylize", tmp_path, "--style", tiny_model)
    assert code == 2 and Path(out.strip()) == good.with_name("good-tiny-test.jpg")
    assert [line for line in err.splitlines() if "e.jpg" in line] == [
        f"error: {tmp_path / 'e.jpg'}: not an image file (unknown or unsupported format)"]


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS) + sorted(BAD_CARDS))
def test_stylize_with_a_bad_model_file_is_one_error(tmp_path, run_fd, tiny_model, case):
    if case in BAD_GRAPHS:
        model = BAD_GRAPHS[case][0](tmp_path / f"{case}.onnx")
    else:
        model = with_metadata(tiny_model, tmp_path / f"{case}.onnx", **BAD_CARDS[case](tiny_model))
    photo = write_jpeg(tmp_path / "p.jpg")
    code, out, err = run_fd("stylize", photo, "--style", model)
    lines = error_lines(err)
    assert code == 2 and out == "" and len(lines) == 1, err
    assert lines[0].startswith(f"error: {model}: ")


def test_symlink_loop_among_inputs_does_not_stop_the_batch(tmp_path, run_fd, tiny_model):
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    good = write_jpeg(tmp_path / "good.jpg")
    code, out, err = run_fd("stylize", loop, good, "--style", tiny_model)
    assert code == 2 and out.strip() == str(good.with_name("good-tiny-test.jpg"))
    assert f"error: {loop}: symbolic link loop, not an image file" in err.splitlines()


@pytest.mark.parametrize("length, code", [(249, 0), (300, 2)])
def test_output_name_length(tmp_path, run_fd, tiny_model, length, code):
    target = tmp_path / ("o" * (length - 4) + ".png")
    got, out, err = run_fd("stylize", write_jpeg(tmp_path / "p.jpg"), "--style", tiny_model,
                           "-o", target)
    assert got == code, err
    if code:
        (line,) = error_lines(err)
        assert line.startswith("error: ") and line.endswith(
            f"{target}: file name too long ({length} bytes, the limit is 255)")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["p.jpg"] + ([target.name] if code == 0 else []))


def test_train_name_cannot_leave_the_runs_folder(tmp_path, run_fd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    code, _, err = run_fd("train", "painting.jpg", "--name", "../../../x", "--no-install",
                          "--out-dir", tmp_path / "runs")
    assert code == 2 and "not a valid style name" in err
    assert [p.name for p in tmp_path.iterdir()] == ["runs"] and not any(
        (tmp_path / "runs").iterdir())


@pytest.mark.parametrize("case", sorted(BAD_CHECKPOINTS))
def test_resume_from_a_damaged_checkpoint_exits_2(tmp_path, run_fd, case):
    state = small_checkpoint_state()
    BAD_CHECKPOINTS[case](state)
    path = tmp_path / "run" / "checkpoint.pt"
    path.parent.mkdir()
    torch.save({"format_version": 1, **state}, path)
    code, _, err = run_fd("train", "painting.jpg", "--name", "run", "--resume",
                          "--out-dir", tmp_path)
    assert code == 2 and error_lines(err)[0].startswith(f"error: {path}: damaged checkpoint"), err


def test_nan_outputs_leave_stderr_clean(tmp_path, run_fd, monkeypatch):
    import onnxruntime

    calls = []
    monkeypatch.setattr(onnxruntime, "disable_telemetry_events", lambda: calls.append(1))
    black = save_image(tmp_path / "black.png", np.zeros_like(noise_rgb()))
    model = nan_on_black_model(tmp_path / "nan.onnx")
    code, out, err = run_fd("stylize", black, "--style", model, "-o", tmp_path / "out.png")
    assert (code, err) == (0, "") and calls
    assert Path(out.strip()) == tmp_path / "out.png"
