"""Safe image loading and saving: every bad file becomes one clear ``ImageFormatError``.

Loading returns uint8 RGB (HxWx3) plus an optional uint8 alpha (HxW), upright (EXIF orientation
applied), whatever the file's mode: 16-bit, grayscale, palette, CMYK, animated. Oversized images
are refused from their header dimensions, before any pixel is decoded (decompression bombs).

Only the formats in ``LOAD_FORMATS`` are ever tried, whatever the suffix says: Pillow would
otherwise hand a PostScript file named ``.jpg`` to Ghostscript, which can run forever.

Memory bound: decoding an 8-bit RGB image of N pixels peaks under 10 bytes per pixel
(Pillow's 4-byte pixels, our 3-byte array filled in bands, allocator slack; measured 9.3), so
under 500 MB at the ``MAX_PIXELS`` cap of 50 megapixels. Other modes (alpha, grayscale,
palette, CMYK, 16-bit) convert through one more 4-byte copy. The returned ``Image`` holds 3
(4 with alpha) bytes per pixel.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import struct
import warnings
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

from engine.errors import ImageFormatError, StudioError
from engine.io.files import write_atomic

log = logging.getLogger(__name__)

# Suffixes find_images() picks up in folders (lower case). Files named explicitly are tried
# whatever their suffix.
IMAGE_SUFFIXES: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff",
)

# Formats save_image() writes, by suffix: (Pillow format, keeps alpha).
SAVE_FORMATS: dict[str, tuple[str, bool]] = {
    ".png": ("PNG", True),
    ".jpg": ("JPEG", False),
    ".jpeg": ("JPEG", False),
    ".webp": ("WEBP", True),
}

# Pillow formats load_image() decodes (by content, not suffix); every other plugin is never
# asked, so no file reaches Ghostscript (EPS) or other external decoders.
LOAD_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")

# Largest image we decode: 50 megapixels (bigger than almost every camera's photos) is 150 MB
# as RGB uint8 and keeps decoding under ~400 MB (see the module docstring). Pillow's own bomb
# limit (MAX_IMAGE_PIXELS) applies too.
MAX_PIXELS = 50_000_000

# What Pillow raises on damaged files: truncated streams and bad chunks (OSError, SyntaxError),
# bad headers (ValueError, struct.error), early ends (EOFError), broken deflate data (zlib.error).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)

BAND_ROWS = 256  # rows copied from Pillow to numpy at a time (bounds the extra memory)

# Modes that mean 16- or 32-bit integer samples; scaled to 8 bits, not clipped.
_WIDE_INT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


@dataclass
class Image:
    """A decoded image: ``rgb`` uint8 (H, W, 3), ``alpha`` uint8 (H, W) or None, source path."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _pixel_limit() -> int:
    """Our limit, or Pillow's if someone lowered it."""
    pillow = PILImage.MAX_IMAGE_PIXELS
    return min(MAX_PIXELS, pillow) if pillow else MAX_PIXELS


def _too_large(path: Path, detail: str) -> ImageFormatError:
    return ImageFormatError(
        f"{path}: image too large to open safely ({detail}; the limit is "
        f"{_pixel_limit() / 1e6:.0f} megapixels)",
        hint="scale it down with an image editor first",
    )


def _check_file(path: Path) -> None:
    """Refuse missing files, symlink loops, folders and empty files with a message that says
    which."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageFormatError(f"{path}: symbolic link loop, not an image file") from None
        if exc.errno == errno.ENAMETOOLONG:
            raise ImageFormatError(f"{path}: file name too long") from None
        raise ImageFormatError(f"{path}: no such file") from None
    if path.is_dir():
        raise ImageFormatError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageFormatError(f"{path}: empty file (0 bytes)")


def load_image(path: str | os.PathLike) -> Image:
    """Decode ``path`` into upright 8-bit RGB (+ alpha); raise ``ImageFormatError`` naming it."""
    path = Path(path)
    _check_file(path)
    # Pillow warns about (and above 2x, refuses) decompression bombs inside open(); make the
    # warning an exception so it becomes our error instead of a line on stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            with PILImage.open(path, formats=LOAD_FORMATS) as im:
                return Image(*_decode(path, im), path=path)
        except (PILImage.DecompressionBombWarning, PILImage.DecompressionBombError) as exc:
            raise _too_large(path, str(exc).split(",")[0]) from None
        except PILImage.UnidentifiedImageError:
            raise ImageFormatError(f"{path}: not an image file (unknown or unsupported format)",
                                   hint=f"use one of: {', '.join(IMAGE_SUFFIXES)}") from None
        except PermissionError:
            raise ImageFormatError(f"{path}: cannot read (permission denied)") from None
        except _DECODE_ERRORS as exc:
            raise ImageFormatError(
                f"{path}: damaged or truncated image ({_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


def _decode(path: Path, im: PILImage.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Check the header size, then decode the first frame upright into (rgb, alpha)."""
    width, height = im.size
    if width * height > _pixel_limit():
        raise _too_large(path, f"{width}x{height} pixels")
    if width == 0 or height == 0:
        raise ImageFormatError(f"{path}: image has no pixels ({width}x{height})")
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        log.info("%s: animated image with %d frames, using the first", path, frames)
    im.load()
    ImageOps.exif_transpose(im, in_place=True)  # in place: no second copy of the pixels
    return _to_rgb_alpha(im)


def _to_rgb_alpha(im: PILImage.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow mode -> uint8 RGB (H, W, 3) and alpha (H, W) or None."""
    if im.mode in _WIDE_INT_MODES or im.mode == "F":
        im = _scale_to_8bit(im)
    if im.mode == "CMYK":
        im = _cmyk_to_rgb(im)
    has_alpha = im.mode in ("RGBA", "RGBa", "LA", "La", "PA") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info
    )
    if has_alpha:
        return _split_bands(im if im.mode == "RGBA" else im.convert("RGBA"))
    return _split_bands(im if im.mode == "RGB" else im.convert("RGB"))


def _split_bands(im: PILImage.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """An RGB or RGBA Pillow image -> (rgb, alpha or None), copied ``BAND_ROWS`` rows at a time.

    ``np.asarray`` of a whole image would hold two more full copies (``tobytes`` chunks and
    their join); bands keep the extra memory to one band.
    """
    width, height = im.size
    rgb = np.empty((height, width, 3), np.uint8)
    alpha = np.empty((height, width), np.uint8) if im.mode == "RGBA" else None
    for y in range(0, height, BAND_ROWS):
        band = np.asarray(im.crop((0, y, width, min(height, y + BAND_ROWS))))
        rgb[y:y + BAND_ROWS] = band[..., :3]
        if alpha is not None:
            alpha[y:y + BAND_ROWS] = band[..., 3]
    return rgb, alpha


def _scale_to_8bit(im: PILImage.Image) -> PILImage.Image:
    """16/32-bit integer or float gray -> 8-bit "L", scaling the full range (not clipping).

    Integer modes are taken as 16-bit (what PNG and TIFF store); float as 0..1.
    """
    data = np.asarray(im).astype(np.float64)
    full_scale = 1.0 if im.mode == "F" else 65535.0
    scaled = np.clip(data / full_scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return PILImage.fromarray(scaled, mode="L")


def _cmyk_to_rgb(im: PILImage.Image) -> PILImage.Image:
    """CMYK -> sRGB through the embedded ICC profile when there is one (print JPEGs have it)."""
    icc = im.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"),
                                             outputMode="RGB")
        except (ImageCms.PyCMSError, OSError) as exc:
            log.info("ignoring unusable CMYK colour profile (%s)", exc)
    return im.convert("RGB")


def save_image(path: str | os.PathLike, rgb: np.ndarray, alpha: np.ndarray | None = None, *,
               quality: int = 95) -> Path:
    """Write uint8 RGB (H, W, 3) (+ alpha (H, W)) atomically; the format follows the suffix.

    PNG and WebP keep the alpha; JPEG drops it. ``quality`` applies to JPEG and WebP.
    """
    path = Path(path)
    pil_format, keeps_alpha = save_format(path)
    pil = PILImage.fromarray(_checked_rgb(rgb), mode="RGB")
    if alpha is not None and keeps_alpha:
        pil.putalpha(PILImage.fromarray(_checked_alpha(alpha, rgb), mode="L"))
    options = {"quality": quality} if pil_format in ("JPEG", "WEBP") else {"optimize": False}
    try:
        return write_atomic(path, lambda tmp: pil.save(tmp, format=pil_format, **options))
    except StudioError:
        raise
    except OSError as exc:
        raise StudioError(f"{path}: cannot write ({exc.strerror or _one_line(exc)})",
                          hint="check the folder exists, is writable and has free space") from None


def save_format(path: Path) -> tuple[str, bool]:
    """(Pillow format, keeps alpha) for ``path``'s suffix; a StudioError if we cannot write it."""
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise StudioError(f"{path}: cannot save images as '{path.suffix or '(no suffix)'}'",
                          hint=f"use one of: {', '.join(SAVE_FORMATS)}")
    return fmt


def _checked_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3) RGB, got {rgb.dtype} {rgb.shape}")
    return np.ascontiguousarray(rgb)


def _checked_alpha(alpha: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    if alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]:
        raise ValueError(f"expected uint8 alpha {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}")
    return np.ascontiguousarray(alpha)


def find_images(paths: Iterable[str | os.PathLike], recursive: bool = True) -> list[Path]:
    """Expand folders into the image files they hold (sorted), keep files as given.

    Order follows ``paths``; a file reached twice (also via another spelling) appears once.
    Hidden files and folders are skipped (they include our own in-progress temp files). A
    symlink loop named as an input stays in the list, for ``load_image`` to report.
    """
    found: list[Path] = []
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        for candidate in _folder_images(path, recursive) if path.is_dir() else [path]:
            key = os.path.realpath(candidate)  # unlike Path.resolve(), never raises on a loop
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found


def _folder_images(folder: Path, recursive: bool) -> list[Path]:
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(
        p for p in pattern
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
