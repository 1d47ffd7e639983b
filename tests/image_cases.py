"""Image files for tests, made with Pillow or by hand: unusual but valid ones, and bad ones.

Shared by the engine.io.images unit tests and the CLI tests, so every bad input is checked at both
levels from one table (``BAD_IMAGES``).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

RNG_SEED = 1234


def noise_rgb(height: int = 48, width: int = 64, seed: int = RNG_SEED) -> np.ndarray:
    """A textured uint8 (H, W, 3) image, so JPEG has real data to encode."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_bytes(width: int, height: int, bit_depth: int, color_type: int,
              raw_rows: bytes | None) -> bytes:
    """A PNG built chunk by chunk; ``raw_rows=None`` leaves out the pixel data (header only)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(raw_rows)) if raw_rows is not None else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def png16(samples: np.ndarray) -> bytes:
    """16-bit PNG from uint16 (H, W) gray or (H, W, 3) RGB samples."""
    height, width = samples.shape[:2]
    color_type = 2 if samples.ndim == 3 else 0
    rows = samples.astype(">u2").reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 per row
    return png_bytes(width, height, 16, color_type, raw)


def write_jpeg(path: Path, rgb: np.ndarray | None = None) -> Path:
    Image.fromarray(noise_rgb() if rgb is None else rgb).save(path, quality=90)
    return path


# --- bad files: each builder writes one into a folder and returns its path ---------------------

def _not_an_image(folder: Path) -> Path:
    path = folder / "notes.png"
    path.write_text("these are not pixels\n")
    return path


def _empty(folder: Path) -> Path:
    path = folder / "empty.jpg"
    path.write_bytes(b"")
    return path


def _truncated_jpeg(folder: Path) -> Path:
    path = write_jpeg(folder / "truncated.jpg")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt_jpeg(folder: Path) -> Path:
    """Valid headers, then seeded random bytes in place of the entropy-coded scan."""
    path = write_jpeg(folder / "corrupt.jpg")
    data = path.read_bytes()
    start = data.index(b"\xff\xda") + 20
    garbage = np.random.default_rng(RNG_SEED).integers(0, 256, len(data) - start, dtype=np.uint8)
    path.write_bytes(data[:start] + garbage.tobytes())
    return path


def _corrupt_png(folder: Path) -> Path:
    """A PNG whose compressed pixel data is partly zeroed (bad deflate stream and CRC)."""
    path = folder / "corrupt.png"
    Image.fromarray(noise_rgb()).save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 20
    data[start:start + 20] = bytes(20)
    path.write_bytes(bytes(data))
    return path


def _bomb_png(folder: Path) -> Path:
    """A 94-byte PNG whose header claims 50000 x 50000 pixels (7.5 GB as RGB), no pixel data."""
    path = folder / "bomb.png"
    path.write_bytes(png_bytes(50_000, 50_000, 8, 2, None))
    return path


def _folder(folder: Path) -> Path:
    path = folder / "photos.jpg"
    path.mkdir()
    return path


def _missing(folder: Path) -> Path:
    return folder / "missing.jpg"


# name -> (builder, a phrase the one-line error must contain)
BAD_IMAGES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not-an-image": (_not_an_image, "not an image file"),
    "empty": (_empty, "empty file"),
    "truncated-jpeg": (_truncated_jpeg, "truncated"),
    "corrupt-jpeg": (_corrupt_jpeg, "damaged"),
    "corrupt-png": (_corrupt_png, "damaged"),
    "decompression-bomb": (_bomb_png, "too large"),
    "folder": (_folder, "is a folder"),
    "missing": (_missing, "no such file"),
}


# --- unusual but valid files: each builder returns the file and what it must decode to --------

@dataclass
class Expected:
    """A test image file and its decoded content: uint8 rgb (H, W, 3), alpha (H, W) or None."""

    path: Path
    rgb: np.ndarray
    alpha: np.ndarray | None = None
    tolerance: int = 0  # largest allowed per-sample difference (lossy formats, 16-bit rounding)


def _gray16(folder: Path) -> Expected:
    ramp = np.tile(np.linspace(0, 65535, 64).round().astype(np.uint16), (8, 1))
    path = folder / "gray16.png"
    path.write_bytes(png16(ramp))
    eight = np.round(ramp / 257.0).astype(np.uint8)  # scaled, not clipped to 255
    return Expected(path, np.dstack([eight] * 3), tolerance=1)


def _rgb16(folder: Path) -> Expected:
    samples = np.zeros((4, 6, 3), np.uint16)
    samples[...] = (65535, 32896, 257)  # 255, 128, 1 in 8 bits
    path = folder / "rgb16.png"
    path.write_bytes(png16(samples))
    return Expected(path, np.full((4, 6, 3), (255, 128, 1), np.uint8), tolerance=1)


def _gray(folder: Path) -> Expected:
    gray = noise_rgb()[..., 0]
    path = folder / "gray.png"
    Image.fromarray(gray, mode="L").save(path)
    return Expected(path, np.dstack([gray] * 3))


def _gray_alpha(folder: Path) -> Expected:
    gray, alpha = noise_rgb()[..., 0], noise_rgb(seed=7)[..., 0]
    path = folder / "gray-alpha.png"
    Image.fromarray(np.dstack([gray, alpha]), mode="LA").save(path)
    return Expected(path, np.dstack([gray] * 3), alpha)


def _palette(folder: Path) -> Expected:
    """Left half palette entry 0 (red, transparent), right half entry 1 (blue, opaque)."""
    pal = Image.new("P", (8, 4), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (4, 0, 8, 4))
    path = folder / "palette.png"
    pal.save(path, transparency=0)
    rgb = np.zeros((4, 8, 3), np.uint8)
    rgb[:, :4], rgb[:, 4:] = (255, 0, 0), (0, 0, 255)
    alpha = np.zeros((4, 8), np.uint8)
    alpha[:, 4:] = 255
    return Expected(path, rgb, alpha)


def _rgba(folder: Path) -> Expected:
    rgb, alpha = noise_rgb(), noise_rgb(seed=3)[..., 0]
    path = folder / "rgba.png"
    Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(path)
    return Expected(path, rgb, alpha)


def _colour_bars(width: int = 32) -> np.ndarray:
    """Four 16-px rows of flat colours (flat areas survive JPEG almost unchanged)."""
    colours = np.array([(200, 30, 40), (20, 160, 60), (240, 240, 240), (10, 10, 90)], np.uint8)
    return np.repeat(colours[:, None, :], width, axis=1).repeat(16, axis=0)


def _cmyk_jpeg(folder: Path) -> Expected:
    path = folder / "cmyk.jpg"
    Image.fromarray(_colour_bars()).convert("CMYK").save(path, quality=95)
    return Expected(path, _colour_bars(), tolerance=12)


def _animated_gif(folder: Path) -> Expected:
    frames = [Image.new("RGB", (8, 6), c) for c in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    path = folder / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    return Expected(path, np.full((6, 8, 3), (255, 0, 0), np.uint8))


def _exif_rotated(folder: Path) -> Expected:
    """Stored 64 wide x 32 high, left half red; orientation 6 means "rotate 90 clockwise"."""
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:, :32], stored[:, 32:] = (220, 20, 20), (20, 20, 220)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = folder / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95, subsampling=0)
    return Expected(path, np.rot90(stored, k=-1).copy(), tolerance=12)


def _unicode_path(folder: Path) -> Expected:
    (folder / "Fotos für Ölgemälde 写真").mkdir()
    path = folder / "Fotos für Ölgemälde 写真" / "mein Bild ✓ 1.png"
    Image.fromarray(noise_rgb()).save(path)
    return Expected(path, noise_rgb())


ODD_IMAGES: dict[str, Callable[[Path], Expected]] = {
    "16-bit-gray-png": _gray16,
    "16-bit-rgb-png": _rgb16,
    "grayscale": _gray,
    "grayscale-alpha": _gray_alpha,
    "palette-transparency": _palette,
    "rgba": _rgba,
    "cmyk-jpeg": _cmyk_jpeg,
    "animated-gif": _animated_gif,
    "exif-orientation": _exif_rotated,
    "unicode-space-path": _unicode_path,
}
