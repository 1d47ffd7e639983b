"""`tinystyle export`: Core ML and ONNX outputs, and exit 2 with no output on bad input."""

from __future__ import annotations

import onnx
import pytest
from model_cases import BAD_MODELS

from engine.io.model_files import read_card

pytest.importorskip("coremltools")


def test_coreml_default_is_a_small_mlmodel(run_cli, tiny_model, tmp_path):
    out = tmp_path / "Tiny.mlmodel"
    code, stdout, err = run_cli("export", tiny_model, "--coreml", "-o", out)
    assert code == 0, err
    assert out.is_file() and out.stat().st_size <= 17_000
    assert "Tiny.mlmodel" in stdout and "bytes" in stdout


def test_onnx_reexport_keeps_the_card(run_cli, tiny_model, tmp_path):
    out = tmp_path / "copy.onnx"
    code, _, err = run_cli("export", tiny_model, "--onnx", "-o", out)
    assert code == 0, err
    assert read_card(out).name == read_card(tiny_model).name


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_models_exit_2(run_cli, tmp_path, case):
    build, phrase = BAD_MODELS[case]
    model = build(tmp_path)
    out = tmp_path / "out" / "Bad.mlmodel"
    code, _, err = run_cli("export", model, "--coreml", "-o", out)
    assert code == 2 and phrase in err and not out.parent.exists()


def test_onnx_without_our_card_exits_2(run_cli, tiny_model, tmp_path):
    model = onnx.load(str(tiny_model))
    del model.metadata_props[:]
    stripped = tmp_path / "stripped.onnx"
    onnx.save(model, str(stripped))
    code, _, err = run_cli("export", stripped, "--coreml", "-o", tmp_path / "S.mlmodel")
    assert code == 2 and "not a TinyStyle model" in err
    assert not (tmp_path / "S.mlmodel").exists()


@pytest.mark.parametrize("args, phrase", [
    (["--size-range", "250-1920"], "multiple of 4"),
    (["--size-range", "256-99996"], "outside"),
    (["--size-range", "big"], "MIN-MAX"),
    (["--default-size", "4000x300"], "default size"),
    (["--bundle", "--bits", "16"], "--bundle"),
])
def test_bad_options_exit_2_without_output(run_cli, tiny_model, tmp_path, args, phrase):
    out = tmp_path / "out"
    code, _, err = run_cli("export", tiny_model, "--coreml", "-o", out / "M.mlmodel", *args)
    assert code == 2 and phrase in err, err
    assert not out.exists()


def test_unwritable_target_exits_2(run_cli, tiny_model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli("export", tiny_model, "--coreml", "-o", blocker / "M.mlmodel")
    assert code == 2 and "cannot write" in err
