"""Gram, content, style and TV losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.io import paths
from engine.io.images import load_image
from engine.training.data import resize_short_side
from engine.training.losses import (
    DistillLoss,
    PaintingStyleLoss,
    PerceptualLoss,
    content_loss,
    edge_distance,
    gram,
    grid_distance,
    painting_distance,
    patch_distance,
    style_loss,
    tv_loss,
)


def test_gram_is_f_ft_over_chw():
    f = torch.arange(12, dtype=torch.float32).reshape(1, 2, 2, 3)
    flat = f.reshape(2, 6)
    assert torch.allclose(gram(f)[0], flat @ flat.T / 12)


def test_gram_does_not_depend_on_image_size():
    f = torch.rand(2, 4, 5, 6)
    tiled = f.repeat(1, 1, 2, 3)
    assert torch.allclose(gram(f), gram(tiled), atol=1e-6)


def test_style_loss_sums_the_layers_and_is_zero_on_the_target():
    feats = {"a": torch.rand(2, 3, 4, 4), "b": torch.rand(2, 5, 2, 2)}
    targets = {k: gram(v[:1]) for k, v in feats.items()}
    same = {k: v[:1].expand_as(v) for k, v in feats.items()}
    assert style_loss(same, targets).item() == 0.0
    separate = sum(style_loss({k: feats[k]}, {k: targets[k]}) for k in feats)
    assert style_loss(feats, targets).item() == pytest.approx(separate.item())


def test_content_loss_is_mse():
    a, b = torch.zeros(1, 2, 3, 3), torch.full((1, 2, 3, 3), 2.0)
    assert content_loss(a, b).item() == 4.0


def test_tv_loss_counts_squared_neighbour_differences():
    flat = torch.full((1, 3, 8, 8), 100.0)
    assert tv_loss(flat).item() == 0.0
    edge = flat.clone()
    edge[..., 4:] = 110.0  # one vertical edge of height 10: 8 of 56 horizontal pairs differ
    assert tv_loss(edge).item() == pytest.approx(100.0 * 8 / 56)


def test_the_painting_is_its_own_style_and_a_photo_is_not(bundled_photos, shared_data):
    style = resize_short_side(
        load_image(shared_data / "styles" / "van-gogh-starry-night.jpg").rgb, 64, 4)
    criterion = PerceptualLoss(style, ("relu1_1", "relu2_1", "relu3_1"), "relu2_2")
    own = criterion(style, style)
    photo = resize_short_side(load_image(bundled_photos[1]).rgb, 64, 4)
    other = criterion(photo, photo.flip(-1))
    assert own["style"].item() < 1e-3 * other["style"].item()
    assert own["content"].item() == 0.0 and other["content"].item() > 0


def test_ssim_is_one_for_equal_images_and_drops_with_noise(bundled_photos):
    from engine.training.evaluate import ssim

    photo = load_image(bundled_photos[2]).rgb[:96, :96]
    rng = np.random.default_rng(0)
    noisy = np.clip(photo + rng.normal(0, 25, photo.shape), 0, 255).astype(np.uint8)
    very = np.clip(photo + rng.normal(0, 80, photo.shape), 0, 255).astype(np.uint8)
    assert ssim(photo, photo) == pytest.approx(1.0)
    assert 1.0 > ssim(photo, noisy) > ssim(photo, very)
    assert ssim(photo, noisy) == pytest.approx(ssim(noisy, photo))


def _strokes() -> torch.Tensor:
    """A 128 px crop of a bundled painting thumbnail: real strokes, (1, 3, 128, 128) 0..255."""
    rgb = load_image(paths.bundled_styles_dir() / "starry-night.jpg").rgb
    return resize_short_side(rgb, 128, 4)[..., :128, :128]


def test_patch_distance_prefers_strokes_out_of_place_to_a_blur():
    """What it is for: the pixel loss prefers the blur (the mean of strokes it cannot place);
    the patch distance prefers the same strokes anywhere, and is 0 on the target."""
    painting = _strokes()
    shifted = painting.roll((9, 13), dims=(2, 3))  # every stroke 9-13 px from its place
    kernel = torch.ones(3, 1, 5, 5) / 25
    blurred = F.conv2d(F.pad(painting, (2, 2, 2, 2), mode="replicate"), kernel, groups=3)
    torch.manual_seed(0)
    assert patch_distance(painting, painting).item() == 0.0
    assert F.l1_loss(blurred, painting) < F.l1_loss(shifted, painting)
    for seed in range(3):  # random directions and patches: holds for any draw
        torch.manual_seed(seed)
        assert patch_distance(shifted, painting) < patch_distance(blurred, painting)


def test_distill_loss_with_patches_trains_without_vgg():
    painting = _strokes()
    loss = DistillLoss(vgg=False)
    output = (painting + torch.randn_like(painting) * 30).requires_grad_()
    parts = loss(output, painting, patches=True)
    assert set(parts) == {"pixel", "patch", "grid", "edge"} and loss.vgg is None
    assert parts["patch"] > 0
    sum(parts.values()).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0


def test_grid_distance_sees_a_stamped_4px_pattern_not_the_strokes():
    painting = _strokes()
    stamp = torch.zeros(1, 1, 4, 4)
    stamp[..., 0, 0], stamp[..., 2, 2] = 6.0, -6.0  # a dot pattern, RMS sqrt(72 / 16)
    gridded = painting + stamp.repeat(1, 1, 32, 32)
    shifted = painting.roll((9, 13), dims=(2, 3))  # strokes out of place: no 4-px period
    assert grid_distance(gridded, painting).item() == pytest.approx((72 / 16) ** 0.5, rel=1e-3)
    assert grid_distance(shifted, painting) < 0.3 * grid_distance(gridded, painting)
    assert grid_distance(painting, painting).item() < 1e-3


def test_edge_distance_sees_a_line_at_one_edge_of_every_image_not_strokes_there():
    strokes = _strokes()
    painting = torch.cat([strokes.roll((31 * i, 17 * i), dims=(2, 3)) for i in range(8)])
    lined = painting.clone()
    lined[..., :2, :] += 30.0  # a bright 2-px line along the top of each image
    shifted = painting.roll((9, 13), dims=(2, 3))  # strokes out of place, the border included
    line = edge_distance(lined, painting).item()
    # 16 band rows or columns per channel, two of them 30 above the rows inside: sqrt(1800 / 16)
    assert line == pytest.approx((2 * 30.0**2 / 16) ** 0.5, rel=0.02)
    # the strokes' pixel error is ~80x the line's, their edge distance under half of it
    assert F.l1_loss(lined, painting) * 50 < F.l1_loss(shifted, painting)
    assert edge_distance(shifted, painting) < 0.4 * line
    assert edge_distance(painting, painting).item() < 1e-3


def test_painting_distance_asks_for_the_paintings_own_patches(bundled_photos):
    """Windows of the painting itself score far closer than a photo's windows, whatever the
    draw, and the loss reaches the output."""
    painting = resize_short_side(load_image(paths.bundled_styles_dir() / "great-wave.jpg").rgb,
                                 256)[0]
    photo = resize_short_side(load_image(bundled_photos[0]).rgb, 128, 4)[..., :128, :128]
    own = torch.stack([painting[:, 7 * i:7 * i + 128, 20 * i:20 * i + 128] for i in range(4)])
    output = photo.repeat(4, 1, 1, 1).requires_grad_()
    for seed in range(3):
        torch.manual_seed(seed)
        near, far = painting_distance(own, painting), painting_distance(output, painting)
        assert near < 0.5 * far
    far.backward()
    assert output.grad.abs().sum() > 0
    loss = DistillLoss(vgg=False, painting=painting)
    assert set(loss(own, own, patches=True)) == {"pixel", "patch", "grid", "edge", "painting"}


def test_sliced_distance_pools_the_batch_so_the_paintings_own_windows_come_first(bundled_photos):
    """A batch of the painting's own windows (each sky or wave, not the whole picture) is far
    closer to the whole painting by the pooled sliced distance than a photo's crops, whatever
    the draw; the per-crop Gram loss tells them apart far less well. Both reach the output."""
    painting = resize_short_side(load_image(paths.bundled_styles_dir() / "great-wave.jpg").rgb,
                                 192)
    photo = resize_short_side(load_image(bundled_photos[0]).rgb, 96, 4)[..., :96, :96]
    own = torch.cat([painting[..., 30 * i:30 * i + 96, 40 * i:40 * i + 96] for i in range(4)])
    output = photo.repeat(4, 1, 1, 1).requires_grad_()
    criterion = PaintingStyleLoss(painting, ("relu1_1", "relu2_1", "relu3_1"))
    for seed in range(3):
        torch.manual_seed(seed)
        near, far = criterion(own), criterion(output)
        assert near["sliced"] < 0.2 * far["sliced"]
        assert near["gram"] > 0.2 * far["gram"]
    (far["sliced"] + far["gram"]).backward()
    assert output.grad.abs().sum() > 0
    assert set(criterion(own, grams=False)) == {"sliced"}
