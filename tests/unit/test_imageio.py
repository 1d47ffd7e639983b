"""engine.io.images: every odd or bad file loads correctly or fails with one clear line."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from image_cases import BAD_IMAGES, ODD_IMAGES, noise_rgb, png_bytes, write_jpeg
from PIL import Image

from engine.errors import ImageFormatError, StudioError
from engine.io import images as imageio
from engine.io.images import IMAGE_SUFFIXES, find_images, load_image, save_image


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_bad_file_is_one_clear_error(tmp_path, case):
    build, phrase = BAD_IMAGES[case]
    path = build(tmp_path)
    with pytest.raises(ImageFormatError) as info:
        load_image(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert phrase in message
    assert "\n" not in message


def test_bomb_refused_by_our_limit_even_without_pillows(tmp_path, monkeypatch):
    """Some libraries switch Pillow's bomb check off globally; ours still refuses by header size."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    build, _ = BAD_IMAGES["decompression-bomb"]
    with pytest.raises(ImageFormatError, match="50000x50000 pixels"):
        load_image(build(tmp_path))


def test_just_over_pillows_warning_limit_is_our_error_not_a_warning(tmp_path):
    # 9500 x 9500 = 90.25 MP: above Pillow's warning threshold, below its hard error.
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes(9500, 9500, 8, 0, None))
    with pytest.raises(ImageFormatError, match="too large"):
        load_image(path)


@pytest.mark.parametrize("case", sorted(ODD_IMAGES))
def test_odd_image_decodes_to_upright_8bit_rgb(tmp_path, case):
    expected = ODD_IMAGES[case](tmp_path)
    image = load_image(expected.path)
    assert image.rgb.dtype == np.uint8 and image.rgb.shape == expected.rgb.shape
    assert np.abs(image.rgb.astype(int) - expected.rgb).max() <= expected.tolerance
    if expected.alpha is None:
        assert image.alpha is None
    else:
        assert np.array_equal(image.alpha, expected.alpha)


def test_animated_gif_says_it_uses_the_first_frame(tmp_path, caplog):
    expected = ODD_IMAGES["animated-gif"](tmp_path)
    with caplog.at_level(logging.INFO, logger="engine.io.images"):
        load_image(expected.path)
    assert "3 frames, using the first" in caplog.text


def test_cmyk_case_really_is_cmyk(tmp_path):
    with Image.open(ODD_IMAGES["cmyk-jpeg"](tmp_path).path) as im:
        assert im.mode == "CMYK"


def test_unicode_and_space_paths_save(tmp_path):
    folder = tmp_path / "Ausgabe für 写真"
    out = save_image(folder / "Bild ✓ 2.png", noise_rgb())
    assert np.array_equal(load_image(out).rgb, noise_rgb())


@pytest.mark.parametrize("suffix", [".png", ".webp", ".jpg", ".jpeg"])
def test_save_round_trip_and_alpha(tmp_path, suffix):
    rgb, alpha = noise_rgb(), noise_rgb(seed=9)[..., 0]
    path = save_image(tmp_path / f"out{suffix}", rgb, alpha, quality=100)
    back = load_image(path)
    assert back.rgb.shape == rgb.shape
    if suffix == ".png":
        assert np.array_equal(back.rgb, rgb) and np.array_equal(back.alpha, alpha)
    elif suffix == ".webp":
        assert back.alpha is not None and np.abs(back.alpha.astype(int) - alpha).max() <= 2
    else:
        assert back.alpha is None
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_save_unknown_suffix(tmp_path):
    with pytest.raises(StudioError, match=r"cannot save images as '\.tga'"):
        save_image(tmp_path / "out.tga", noise_rgb())


def test_save_into_unwritable_folder_names_the_folder(tmp_path):
    # A path under a regular file can never be a folder, even for root (where chmod does not bite).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StudioError) as info:
        save_image(blocker / "out.png", noise_rgb())
    assert str(blocker) in str(info.value) and "cannot write" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_save_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_save(self, fp, *args, **kwargs):
        fp.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(StudioError, match="No space left"):
        save_image(tmp_path / "out.png", noise_rgb())
    assert list(tmp_path.iterdir()) == []


def test_find_images_expands_dedups_and_keeps_order(tmp_path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    first = write_jpeg(tmp_path / "z-first.jpg")
    inner = [write_jpeg(tmp_path / "b" / "2.JPG"), write_jpeg(tmp_path / "b" / "deep" / "1.jpg")]
    (tmp_path / "b" / "readme.txt").write_text("skip me")
    (tmp_path / "b" / ".partial.png").write_bytes(b"")  # hidden temp files are skipped
    spelled_again = tmp_path / "b" / ".." / "z-first.jpg"
    found = find_images([first, tmp_path / "b", spelled_again, inner[0]])
    assert found == [first, *inner]
    assert find_images([tmp_path / "b"], recursive=False) == [inner[0]]


def test_every_save_format_is_found_in_folders():
    for suffix in imageio.SAVE_FORMATS:
        assert suffix in IMAGE_SUFFIXES
