"""Image files for tests, made with Pillow or by hand: unusual but valid ones, and bad ones.

Shared by the engine.imageio unit tests and the CLI tests, so every bad input is checked at both
levels from one table (``BAD_IMAGES``).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
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
