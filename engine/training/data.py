"""Content photos for training: decoded once into memory, sampled as random scaled crops.

Every batch is a pure function of ``(seed, step)``: the photo order is a per-epoch permutation
and the crop/flip draws come from a generator seeded with the step. Resuming at step N therefore
sees exactly the batches an uninterrupted run would, with no sampler state to save, and each of
several DDP processes can make its own rows of the same batch (``batch(..., rows=)``).

Photos are kept as uint8 tensors on the training device (CUDA) so that cropping and resizing
run there and the data pipeline never starves a GPU.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import ImageFormatError, TrainingError
from engine.io import paths
from engine.io.images import find_images, load_image
from engine.progress import CancelToken

log = logging.getLogger(__name__)

MAX_SCALE = 2.0  # a photo's short side is rescaled to 1..MAX_SCALE times the crop size
MIN_SIDE = 32  # px; smaller photos are skipped as unusable


def resize_short_side(rgb: np.ndarray, size: int, multiple: int = 1) -> torch.Tensor:
    """uint8 HxWx3 -> float (1, 3, h, w) 0..255, short side ``size``, cropped to ``multiple``."""
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float()
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    nh, nw = max(multiple, round(h * scale)), max(multiple, round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    nh, nw = nh - nh % multiple, nw - nw % multiple
    return x[..., :nh, :nw].clamp(0, 255)


class ContentPhotos:
    """A folder of photos (recursive) as training crops.

    Unreadable or tiny files are skipped and counted (``skipped``), with one log warning.
    Decoding a big folder takes a while, so ``cancel`` is checked before every photo.
    """

    def __init__(
        self,
        source: str | os.PathLike | Sequence[str | os.PathLike] | None,
        crop: int,
        *,
        device: torch.device | str = "cpu",
        cancel: CancelToken | None = None,
    ):
        self.crop = crop
        self.device = torch.device(device)
        # Only CUDA holds the photos itself; MPS lacks antialiased resizing, so crop on the CPU.
        self._store = self.device if self.device.type == "cuda" else torch.device("cpu")
        if source is None:
            source = paths.bundled_photos_dir()
        sources = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        self.paths: list[Path] = []
        self.skipped: list[tuple[Path, str]] = []
        self._photos: list[torch.Tensor] = []  # uint8 (3, H, W), short side <= MAX_SCALE * crop
        for path in find_images(sources):
            if cancel is not None:
                cancel.raise_if_cancelled()
            self._add(path)
        if self.skipped:
            first, why = self.skipped[0]
            log.warning("skipped %d unusable content photo(s), e.g. %s: %s",
                        len(self.skipped), first, why)
        if not self._photos:
            where = ", ".join(str(s) for s in sources)
            raise TrainingError(f"{where}: no usable content photos found",
                                hint="point --content at a folder of JPEG/PNG photos")
        self._perms: dict[tuple[int, int], np.ndarray] = {}

    def _add(self, path: Path) -> None:
        try:
            rgb = load_image(path).rgb
        except ImageFormatError as exc:
            self.skipped.append((path, exc.message))
            return
        if min(rgb.shape[:2]) < MIN_SIDE:
            self.skipped.append((path, f"smaller than {MIN_SIDE} px"))
            return
        limit = round(MAX_SCALE * self.crop)
        x = resize_short_side(rgb, limit) if min(rgb.shape[:2]) > limit else (
            torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float())
        self._photos.append(x[0].round().to(torch.uint8).to(self._store))
        self.paths.append(path)

    def __len__(self) -> int:
        return len(self._photos)

    def _order(self, seed: int, epoch: int) -> np.ndarray:
        key = (seed, epoch)
        if key not in self._perms:
            self._perms = {key: np.random.default_rng([seed, epoch, 1]).permutation(len(self))}
        return self._perms[key]

    def batch(self, step: int, batch_size: int, seed: int, rows: slice | None = None
              ) -> torch.Tensor:
        """Batch for ``step``: float (B, 3, crop, crop) 0..255 on the device, deterministic.

        ``rows`` makes only those rows of that batch (one process's share under DDP): every
        crop is still drawn in order, so row j is the same whichever rows are asked for.
        """
        rng = np.random.default_rng([seed, step, 2])
        wanted = range(batch_size)[rows] if rows is not None else range(batch_size)
        crops = []
        for j in range(batch_size):
            k = step * batch_size + j  # position in the endless stream of samples
            photo = self._photos[self._order(seed, k // len(self))[k % len(self)]]
            window = self._draw_crop(photo.shape[-2:], rng)
            if j in wanted:
                crops.append(self._crop(photo, *window))
        return torch.cat(crops).to(self.device, non_blocking=True)

    def _draw_crop(self, shape: torch.Size, rng: np.random.Generator
                   ) -> tuple[int, int, int, bool]:
        """(side, top, left, flip) of a random crop: the short side rescaled to
        crop * U(1, MAX_SCALE), a random square of it, flipped with probability 1/2."""
        h, w = shape
        side = min(min(h, w), max(1, round(self.crop * min(h, w) / rng.uniform(
            self.crop, MAX_SCALE * self.crop))))  # source pixels that become one crop
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        return side, top, left, bool(rng.random() < 0.5)

    def _crop(self, photo: torch.Tensor, side: int, top: int, left: int, flip: bool
              ) -> torch.Tensor:
        """The drawn square of ``photo`` resized to the crop size: float (1, 3, crop, crop)."""
        region = photo[:, top:top + side, left:left + side][None].float()
        out = F.interpolate(region, size=(self.crop, self.crop), mode="bilinear",
                            antialias=side > self.crop, align_corners=False)
        if flip:
            out = out.flip(-1)
        return out.clamp(0, 255)

    @property
    def validation_index(self) -> int:
        """A fixed photo for previews: the one with mean brightness nearest mid-grey (readable)."""
        means = [float(p.float().mean()) for p in self._photos]
        return int(np.argmin([abs(m - 128.0) for m in means]))

    def photo(self, index: int, size: int, multiple: int = 4) -> torch.Tensor:
        """Photo ``index`` whole, short side ``size``: float (1, 3, h, w) 0..255 on the device."""
        rgb = self._photos[index].permute(1, 2, 0).cpu().numpy()
        return resize_short_side(rgb, size, multiple).to(self.device)
