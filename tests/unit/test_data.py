"""Content photo sampling: deterministic crops, bad files skipped and counted."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from engine.errors import Cancelled, TrainingError
from engine.progress import CancelToken
from engine.training.data import ContentPhotos


@pytest.fixture
def photo_dir(tmp_path, bundled_photos):
    for path in bundled_photos[:3]:
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_batches_are_random_crops_deterministic_per_step(photo_dir):
    photos = ContentPhotos(photo_dir, 48)
    a = photos.batch(5, 4, seed=1)
    assert a.shape == (4, 3, 48, 48) and a.dtype == torch.float32
    assert a.min() >= 0 and a.max() <= 255 and a.std() > 10
    assert torch.equal(a, ContentPhotos(photo_dir, 48).batch(5, 4, seed=1))
    assert not torch.equal(a, photos.batch(6, 4, seed=1))
    assert not torch.equal(a, photos.batch(5, 4, seed=2))


def test_an_epoch_visits_every_photo_once(photo_dir):
    photos = ContentPhotos(photo_dir, 32)
    seen = [photos._order(0, 0)[k] for k in range(len(photos))]
    assert sorted(seen) == list(range(len(photos)))


def test_bad_files_are_skipped_counted_and_logged_once(photo_dir, caplog):
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (photo_dir / "notes.png").write_text("not an image")
    sub = photo_dir / "nested"
    sub.mkdir()
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(sub / "tiny.png")
    with caplog.at_level(logging.WARNING, logger="engine.training.data"):
        photos = ContentPhotos(photo_dir, 32)
    assert len(photos) == 3
    assert sorted(p.name for p, _ in photos.skipped) == ["broken.jpg", "notes.png", "tiny.png"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 3" in warnings[0].getMessage()


def test_no_usable_photos_is_a_clear_error(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"nope")
    with pytest.raises(TrainingError, match="no usable content photos"):
        ContentPhotos(tmp_path, 32)


def test_photo_keeps_the_aspect_and_a_multiple_of_4(photo_dir):
    photos = ContentPhotos(photo_dir, 64)
    image = photos.photo(0, 64)
    assert image.shape[-2] % 4 == 0 and image.shape[-1] % 4 == 0
    assert min(image.shape[-2:]) == 64


def test_decoding_photos_stops_when_cancelled(photo_dir):
    token = CancelToken()
    token.cancel()  # e.g. the wizard's Cancel while a big folder is still being decoded
    with pytest.raises(Cancelled):
        ContentPhotos(photo_dir, 32, cancel=token)
