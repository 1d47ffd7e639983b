"""engine.imageio: every odd or bad file loads correctly or fails with one clear line."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from image_cases import BAD_IMAGES, noise_rgb, png16, png_bytes, write_jpeg
from PIL import Image

from engine import imageio
from engine.errors import ImageFormatError, StudioError
from engine.imageio import IMAGE_SUFFIXES, find_images, load_image, save_image


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


def test_16bit_gray_png_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64).round().astype(np.uint16)
    path = tmp_path / "gray16.png"
    path.write_bytes(png16(np.tile(ramp, (8, 1))))
    image = load_image(path)
    assert image.rgb.shape == (8, 64, 3) and image.alpha is None
    expected = np.round(ramp / 257.0)
    assert np.abs(image.rgb[0, :, 0].astype(int) - expected).max() <= 1
    assert np.array_equal(image.rgb[..., 0], image.rgb[..., 2])


def test_16bit_rgb_png_is_scaled(tmp_path):
    samples = np.zeros((4, 4, 3), np.uint16)
    samples[..., 0], samples[..., 1], samples[..., 2] = 65535, 32896, 257  # 255, 128, 1 in 8 bits
    path = tmp_path / "rgb16.png"
    path.write_bytes(png16(samples))
    rgb = load_image(path).rgb
    assert np.abs(rgb[0, 0].astype(int) - [255, 128, 1]).max() <= 1


def test_grayscale_becomes_rgb(tmp_path):
    gray = noise_rgb()[..., 0]
    Image.fromarray(gray, mode="L").save(tmp_path / "gray.png")
    image = load_image(tmp_path / "gray.png")
    assert image.alpha is None
    assert all(np.array_equal(image.rgb[..., c], gray) for c in range(3))


def test_gray_with_alpha_keeps_alpha(tmp_path):
    la = np.stack([noise_rgb()[..., 0], noise_rgb(seed=7)[..., 0]], axis=-1)
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    image = load_image(tmp_path / "la.png")
    assert np.array_equal(image.alpha, la[..., 1])
    assert np.array_equal(image.rgb[..., 1], la[..., 0])


def test_palette_with_transparency_becomes_rgba(tmp_path):
    pal = Image.new("P", (6, 4), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (3, 0, 6, 4))
    pal.save(tmp_path / "pal.png", transparency=0)
    image = load_image(tmp_path / "pal.png")
    assert image.alpha is not None
    assert image.alpha[0, 0] == 0 and image.alpha[0, 5] == 255
    assert image.rgb[0, 5].tolist() == [0, 0, 255]


def test_rgba_keeps_alpha(tmp_path):
    rgba = np.dstack([noise_rgb(), noise_rgb(seed=3)[..., 0]])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    image = load_image(tmp_path / "rgba.png")
    assert np.array_equal(image.rgb, rgba[..., :3])
    assert np.array_equal(image.alpha, rgba[..., 3])


def test_cmyk_jpeg_gives_the_right_colours(tmp_path):
    colours = [(200, 30, 40), (20, 160, 60), (240, 240, 240), (10, 10, 10)]
    rgb = np.repeat(np.array(colours, np.uint8), 16, axis=0).reshape(4, 16, 3).repeat(16, axis=0)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    loaded = load_image(tmp_path / "cmyk.jpg").rgb
    for row, colour in enumerate(colours):
        centre = loaded[row * 16 + 8, 8].astype(int)
        assert np.abs(centre - colour).max() <= 12, (colour, centre)


def test_animated_gif_uses_first_frame_and_says_so(tmp_path, caplog):
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    with caplog.at_level(logging.INFO, logger="engine.imageio"):
        image = load_image(tmp_path / "anim.gif")
    assert image.rgb[4, 4].tolist() == [255, 0, 0]
    assert "first" in caplog.text and "2 frames" in caplog.text


def test_exif_orientation_is_applied(tmp_path):
    # Stored 40 wide x 20 high, left half red; orientation 6 = "rotate 90 clockwise to view".
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    rgb = load_image(tmp_path / "rotated.jpg").rgb
    assert rgb.shape == (40, 20, 3)
    assert rgb[5, 10, 0] > 200 and rgb[5, 10, 2] < 50  # top is the red half now
    assert rgb[35, 10, 2] > 200 and rgb[35, 10, 0] < 50


def test_unicode_and_space_paths(tmp_path):
    folder = tmp_path / "Fotos für Ölgemälde 写真"
    folder.mkdir()
    path = write_jpeg(folder / "mein Bild ✓.jpg")
    assert load_image(path).rgb.shape == (48, 64, 3)
    out = save_image(folder / "Ausgabe 图.png", noise_rgb())
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
