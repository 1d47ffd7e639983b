"""The corpus fetch's filtering, dedupe and manifests, on tiny synthetic images (no network)."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

_SPEC = importlib.util.spec_from_file_location(
    "fetch_corpus", Path(__file__).parents[2] / "scripts" / "fetch_corpus.py"
)
fc = importlib.util.module_from_spec(_SPEC)
sys.modules["fetch_corpus"] = fc  # dataclasses look their module up there
_SPEC.loader.exec_module(fc)

PKG = fc.Package("pypi", "demo", "1.0", "https://example.invalid/demo.whl", "0" * 64, "MIT")


def _photo(w: int = 600, h: int = 400, seed: int = 0) -> Image.Image:
    """A smooth colourful gradient plus noise: passes as a photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h) + 60 * seed % 128], -1)
    return Image.fromarray((base + rng.normal(0, 12, base.shape)).clip(0, 255).astype(np.uint8))


def _stripes() -> Image.Image:
    """Colourful diagonal stripes: a picture unlike the gradients."""
    y, x = np.mgrid[0:400, 0:500]
    wave = np.sin((x + 2 * y) / 23.0)
    rgb = np.stack([128 + 120 * wave, 90 + 0 * wave, 128 - 120 * wave], -1)
    return Image.fromarray(rgb.astype(np.uint8))


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def test_reject_reason_catches_small_grey_and_flat_images() -> None:
    assert fc.reject_reason(_photo(), "photos", 240) is None
    assert "short side" in fc.reject_reason(_photo(300, 200), "photos", 240)
    assert "greyscale" in fc.reject_reason(_photo().convert("L").convert("RGB"), "photos", 240)
    flat = Image.new("RGB", (400, 400), (200, 30, 30))
    flat.paste((20, 90, 200), (0, 0, 200, 400))
    assert "few colours" in fc.reject_reason(flat, "photos", 240)
    assert fc.reject_reason(flat, "paintings", 240) is None  # the colour rule is for photos only


def test_dhash_sees_a_resized_copy_but_not_a_different_image() -> None:
    a = fc.dhash(_photo())
    assert fc.nearest(fc.dhash(_photo().resize((300, 200))), {"a.jpg": a}) == "a.jpg"
    assert fc.nearest(fc.dhash(_photo().transpose(Image.FLIP_LEFT_RIGHT)), {"a.jpg": a}) is None


def test_build_writes_resized_images_and_both_manifests(tmp_path: Path) -> None:
    style = _photo(seed=3).transpose(Image.ROTATE_90)
    cands = [
        fc.Candidate("photos", PKG, "data/big.jpg", _jpeg(_photo(900, 600)), author="A. Person"),
        fc.Candidate("photos", PKG, "data/copy.jpg", _jpeg(_photo(450, 300)), licence="MIT"),
        fc.Candidate("photos", PKG, "data/tiny.jpg", _jpeg(_photo(100, 80))),
        fc.Candidate("paintings", PKG, "art/famous.png", image=style.resize((500, 600))),
        fc.Candidate("paintings", PKG, "art/other.png", image=_stripes()),
    ]
    rows = fc.build(cands, tmp_path, 240, styles={"style.jpg": fc.dhash(style)}, content={})
    assert [r[0] for r in rows["photos"]] == ["demo-big.jpg"]
    assert [r[0] for r in rows["paintings"]] == ["demo-other.jpg"]
    with Image.open(tmp_path / "photos" / "demo-big.jpg") as im:
        assert min(im.size) == fc.TRAIN_SHORT_SIDE and im.size == (576, 384)
    manifest = (tmp_path / "photos" / "MANIFEST.tsv").read_text().splitlines()
    assert manifest[0].split("\t") == fc.HEADER
    assert manifest[1].split("\t")[1:6] == ["pypi", "demo", "1.0", "data/big.jpg", "A. Person"]
    reasons = [r.split("\t")[-1] for r in (tmp_path / "EXCLUDED.tsv").read_text().splitlines()[1:]]
    assert reasons[0] == "near-duplicate of demo-big.jpg"
    assert reasons[1].startswith("short side 80 px")
    assert reasons[2] == "same painting as built-in style style.jpg"


def test_rerun_removes_images_no_longer_kept(tmp_path: Path) -> None:
    one = [fc.Candidate("photos", PKG, "a.jpg", _jpeg(_photo()))]
    fc.build(one, tmp_path, 240, {}, {})
    (tmp_path / "photos" / "stale.jpg").write_bytes(b"x")
    fc.build(one, tmp_path, 240, {}, {})
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["MANIFEST.tsv", "demo-a.jpg"]


def test_credit_parsers() -> None:
    readme = "Copyright: Jo\nLicense: CC0\nSource: https://x\nFiles:\ncat.webp\n\n"
    readme += "License: GPL\ndog.webp\n"
    credits = fc.parse_credit_blocks(readme)
    assert credits["cat.webp"] == {"Copyright": "Jo", "License": "CC0", "Source": "https://x"}
    assert credits["dog.webp"] == {"License": "GPL"}
    dep5 = fc.parse_dep5(
        "Files: *\nCopyright: Upstream\nLicense: GPL-2+\n\n"
        "Files: debian/*\nCopyright: Packager\nLicense: GPL-2+\n\n"
        "Files: backgrounds/*_by_Ann.jpg\nCopyright: 2020 Ann\nLicense: CC-BY-4.0\n text\n"
    )
    assert fc.dep5_credit(dep5, "/usr/share/x/sea_by_Ann.jpg") == (
        "2020 Ann",
        "CC-BY-4.0 (debian/copyright)",
    )
    upstream = ("Upstream", "GPL-2+ (debian/copyright)")
    assert fc.dep5_credit(dep5, "/usr/share/x/other.jpg") == upstream


def test_unreachable_registry_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise fc.urllib.error.URLError("no route")

    monkeypatch.setattr(fc.urllib.request, "urlopen", refuse)
    with pytest.raises(fc.FetchError, match="cannot download demo 1.0 from pypi"):
        fc.fetch(PKG, tmp_path)
    assert not list(tmp_path.rglob("*.part"))
