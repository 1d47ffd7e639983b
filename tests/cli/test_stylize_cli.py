"""`tinystyle stylize`: real ONNX Runtime on a small exported model, real files in tmp_path."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from image_cases import BAD_IMAGES, ODD_IMAGES, noise_rgb, write_jpeg
from model_cases import BAD_MODELS, TINY_STYLE

from engine.io.images import load_image


def temp_files(folder: Path) -> list[Path]:
    """Leftovers of atomic writes (hidden files named ``.<stem>.*``)."""
    return [p for p in folder.rglob(".*")]


def assert_one_error_line(err: str, *names: object) -> None:
    lines = [line for line in err.splitlines() if all(str(n) in line for n in names)]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", sorted(set(BAD_IMAGES) - {"folder"}))
def test_bad_image_is_reported_and_the_batch_goes_on(tmp_path, run_cli, tiny_model, case):
    build, phrase = BAD_IMAGES[case]
    bad = build(tmp_path)
    good = write_jpeg(tmp_path / "good.jpg")
    code, out, err = run_cli("stylize", bad, good, "--style", tiny_model)
    assert code == 2
    assert_one_error_line(err, bad, phrase)
    assert out.splitlines() == [str(tmp_path / f"good-{TINY_STYLE}.jpg")]
    assert not list(tmp_path.glob(f"{Path(bad).stem}-*"))
    assert temp_files(tmp_path) == []


def test_folder_without_images_is_an_error(tmp_path, run_cli, tiny_model):
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli("stylize", tmp_path / "empty", "--style", tiny_model)
    assert code == 2 and out == ""
    assert_one_error_line(err, tmp_path / "empty", "no image files")


@pytest.mark.parametrize("case", sorted(ODD_IMAGES))
def test_odd_images_come_out_upright_with_alpha(tmp_path, run_cli, tiny_model, case):
    """Strength 0 returns the photo itself: the output must match the correctly decoded input."""
    expected = ODD_IMAGES[case](tmp_path)
    code, out, err = run_cli("stylize", expected.path, "--style", tiny_model, "--strength", "0",
                             "--format", "png")
    assert code == 0, err
    written = Path(out.strip())
    assert written == expected.path.with_name(f"{expected.path.stem}-{TINY_STYLE}.png")
    result = load_image(written)
    assert np.abs(result.rgb.astype(int) - expected.rgb).max() <= expected.tolerance + 1
    if expected.alpha is None:
        assert result.alpha is None
    else:
        assert np.array_equal(result.alpha, expected.alpha)


def test_rgba_keeps_alpha_when_stylized(tmp_path, run_cli, tiny_model):
    expected = ODD_IMAGES["rgba"](tmp_path)
    code, out, err = run_cli("stylize", expected.path, "--style", tiny_model)
    assert code == 0, err
    result = load_image(out.strip())
    assert np.array_equal(result.alpha, expected.alpha)
    assert np.abs(result.rgb.astype(int) - expected.rgb).mean() > 10  # it was stylized


def test_jpeg_output_drops_alpha(tmp_path, run_cli, tiny_model):
    expected = ODD_IMAGES["rgba"](tmp_path)
    code, out, _ = run_cli("stylize", expected.path, "--style", tiny_model, "--format", "jpg")
    assert code == 0 and out.strip().endswith(".jpg")
    assert load_image(out.strip()).alpha is None


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_is_one_clear_error(tmp_path, run_cli, case):
    build, phrase = BAD_MODELS[case]
    model = build(tmp_path)
    photo = write_jpeg(tmp_path / "photo.jpg")
    code, out, err = run_cli("stylize", photo, "--style", model)
    assert code == 2 and out == ""
    assert_one_error_line(err, model, phrase)
    assert not list(tmp_path.glob("photo-*")) and temp_files(tmp_path) == []


def test_unwritable_output_folder(tmp_path, run_cli, tiny_model):
    # Root ignores chmod, so the "folder" is below a regular file: unwritable for everyone.
    photo = write_jpeg(tmp_path / "photo.jpg")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, out, err = run_cli("stylize", photo, "--style", tiny_model,
                             "--out-dir", blocker / "out")
    assert code == 2 and out == ""
    assert_one_error_line(err, photo, blocker, "cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "photo.jpg"]


def spellings(photo: Path) -> dict[str, Path]:
    """Ways to name the same file: itself, via '..', a symlink, a hard link."""
    (photo.parent / "sub").mkdir()
    link = photo.with_name("link.jpg")
    link.symlink_to(photo)
    hard = photo.with_name("hard.jpg")
    os.link(photo, hard)
    return {"same": photo, "dotdot": photo.parent / "sub" / ".." / photo.name,
            "symlink": link, "hardlink": hard}


@pytest.mark.parametrize("spelling", ["same", "dotdot", "symlink", "hardlink"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_never_overwrites_its_input(tmp_path, run_cli, tiny_model, spelling, overwrite):
    photo = write_jpeg(tmp_path / "photo.jpg")
    before = photo.read_bytes()
    target = spellings(photo)[spelling]
    flags = ["--overwrite"] if overwrite else []
    code, out, err = run_cli("stylize", photo, "--style", tiny_model, "-o", target, *flags)
    assert code == 2 and out == ""
    assert_one_error_line(err, photo, "replace an input")
    assert photo.read_bytes() == before and temp_files(tmp_path) == []


def test_output_that_is_another_input_is_refused(tmp_path, run_cli, tiny_model):
    photo = write_jpeg(tmp_path / "photo.jpg")
    styled_name = write_jpeg(tmp_path / f"photo-{TINY_STYLE}.jpg", noise_rgb(seed=5))
    before = styled_name.read_bytes()
    code, out, err = run_cli("stylize", photo, styled_name, "--style", tiny_model, "--overwrite")
    assert code == 2
    assert_one_error_line(err, photo, "replace an input")
    assert styled_name.read_bytes() == before
    assert out.splitlines() == [str(tmp_path / f"photo-{TINY_STYLE}-{TINY_STYLE}.jpg")]


def test_existing_output_needs_overwrite(tmp_path, run_cli, tiny_model):
    photo = write_jpeg(tmp_path / "photo.jpg")
    target = tmp_path / f"photo-{TINY_STYLE}.jpg"
    target.write_bytes(b"keep me")
    code, out, err = run_cli("stylize", photo, "--style", tiny_model)
    assert code == 2 and target.read_bytes() == b"keep me"
    assert_one_error_line(err, target, "--overwrite")
    code, out, err = run_cli("stylize", photo, "--style", tiny_model, "--overwrite")
    assert code == 0 and out.strip() == str(target)
    assert load_image(target).rgb.shape == (48, 64, 3)


def test_folder_batch_mirrors_subfolders_and_prints_each_path(tmp_path, run_cli, tiny_model):
    photos = tmp_path / "photos"
    (photos / "trip").mkdir(parents=True)
    inputs = [write_jpeg(photos / "a.jpg"),
              write_jpeg(photos / "trip" / "a.jpg", noise_rgb(seed=2))]
    code, out, err = run_cli("stylize", photos, "--style", tiny_model, "--out-dir",
                             tmp_path / "out", "--format", "webp", "--stroke-size", "2")
    assert code == 0, err
    expected = [tmp_path / "out" / f"a-{TINY_STYLE}.webp",
                tmp_path / "out" / "trip" / f"a-{TINY_STYLE}.webp"]
    assert out.splitlines() == [str(p) for p in expected]
    for source, written in zip(inputs, expected, strict=True):
        assert load_image(written).rgb.shape == load_image(source).rgb.shape


def test_style_by_name(tmp_path, run_cli, user_style):
    photo = write_jpeg(tmp_path / "photo.jpg")
    code, out, err = run_cli("stylize", photo, "--style", TINY_STYLE, "--threads", "1",
                             "--tile-size", "32", "--preserve-colors", "--strength", "0.5")
    assert code == 0, err
    assert out.strip() == str(tmp_path / f"photo-{TINY_STYLE}.jpg")


@pytest.mark.parametrize("args, phrase", [
    (["--strength", "1.5"], "outside 0..1"),
    (["--strength", "-0.1"], "outside 0..1"),
    (["--style", "no-such-style"], "no-such-style"),
    (["-o", "x.tga"], "x.tga"),
    (["-o", "x.png", "--format", "jpg"], "disagrees with --format"),
])
def test_bad_options_exit_2_with_a_message(tmp_path, run_cli, tiny_model, args, phrase):
    photo = write_jpeg(tmp_path / "photo.jpg")
    base = ["--style", str(tiny_model)] if "--style" not in args else []
    code, out, err = run_cli("stylize", photo, *base, *args)
    assert code == 2 and out == ""
    assert phrase in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]


def test_single_output_needs_a_single_input(tmp_path, run_cli, tiny_model):
    photos = [write_jpeg(tmp_path / f"{i}.jpg") for i in range(2)]
    code, _, err = run_cli("stylize", *photos, "--style", tiny_model, "-o", tmp_path / "o.png")
    assert code == 2 and "single input" in err


def test_real_photos_sample(tmp_path, run_cli, tiny_model, shared_data):
    """Ten photos from the shared set (different sources, sizes and subjects) in one batch."""
    photos = sorted((shared_data / "content").glob("*.jpg"))
    sample = random.Random(0).sample(photos, 10)
    folder = tmp_path / "in"
    folder.mkdir()
    for photo in sample:
        shutil.copy(photo, folder / photo.name)
    code, out, err = run_cli("stylize", folder, "--style", tiny_model, "--out-dir",
                             tmp_path / "out")
    assert code == 0, err
    written = [Path(line) for line in out.splitlines()]
    assert len(written) == 10
    for source, result in zip(sorted(folder.iterdir()), written, strict=True):
        assert result.name == f"{source.stem}-{TINY_STYLE}.jpg"
        assert load_image(result).rgb.shape == load_image(source).rgb.shape
