"""`tinystyle stylize --stroke-size`: a bundled style on a bundled photo, real files in tmp_path."""

from __future__ import annotations

import numpy as np
import pytest
from video_cases import make_clip

from engine.io.images import load_image, save_image
from engine.runtime.stylizer import Stylizer
from engine.styles import find_style

STYLE = "great-wave"


@pytest.fixture
def photo(tmp_path, bundled_photos):
    """A bundled photo as PNG (lossless: outputs compare exactly)."""
    return save_image(tmp_path / "photo.png", load_image(bundled_photos[3]).rgb)


def test_stroke_size_reaches_the_network(tmp_path, run_cli, photo):
    code, out, err = run_cli("stylize", photo, "--style", STYLE, "--stroke-size", "1.5",
                             "-o", tmp_path / "coarse.png")
    assert code == 0, err
    assert out.strip() == str(tmp_path / "coarse.png")
    code, _, err = run_cli("stylize", photo, "--style", STYLE, "-o", tmp_path / "usual.png")
    assert code == 0, err
    rgb = load_image(photo).rgb
    stylizer = Stylizer(find_style(STYLE).path)
    coarse, usual = (load_image(tmp_path / n).rgb for n in ("coarse.png", "usual.png"))
    assert np.array_equal(coarse, stylizer.stylize(rgb, stroke_size=1.5))
    assert np.array_equal(usual, stylizer.stylize(rgb, stroke_size=1.0))  # the default is 1
    assert np.abs(coarse.astype(int) - usual.astype(int)).mean() > 2


@pytest.mark.parametrize("value", ["0", "-1", "0.1", "100", "nan", "inf"])
def test_bad_stroke_size_is_one_clear_error(tmp_path, run_cli, photo, value):
    code, out, err = run_cli("stylize", photo, "--style", STYLE, f"--stroke-size={value}")
    assert code == 2 and out == ""
    assert err.startswith("error: stroke size must be between 0.25 and 4"), err
    assert "hint: " in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_sizes_are_for_their_own_kind_of_input(tmp_path, run_cli, photo):
    code, out, err = run_cli("stylize", photo, "--style", STYLE, "--max-size", "256")
    assert code == 2 and out == "" and "--max-size is for videos" in err
    clip = make_clip(tmp_path / "clip.mp4")
    code, out, err = run_cli("stylize", clip, "--style", STYLE, "--stroke-size", "2")
    assert code == 2 and out == "" and "--stroke-size is for images" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "photo.png"]
