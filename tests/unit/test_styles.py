"""The style registry: bundled and user styles, import, rename, delete."""

from __future__ import annotations

import logging

import pytest
from style_models import export_random

from engine import styles
from engine.errors import ModelLoadError, StudioError
from engine.io import paths


@pytest.fixture(scope="module")
def source_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("src")
    path = export_random(folder / "mona.onnx", seed=4, title="Zebra Lights", artist="A. Painter")
    (folder / "mona.jpg").write_bytes(b"\xff\xd8 thumbnail")
    return path


@pytest.fixture
def bundled(tmp_path, monkeypatch, source_model):
    """A bundled folder with one style, 'wave', titled 'Zebra Lights'."""
    folder = tmp_path / "bundled"
    folder.mkdir()
    (folder / "wave.onnx").write_bytes(source_model.read_bytes())
    monkeypatch.setattr(paths, "bundled_styles_dir", lambda: folder)
    return folder


def test_import_lists_and_finds(bundled, source_model):
    style = styles.import_user_style(source_model, name="alpha")
    assert style.path == paths.user_styles_dir() / "alpha.onnx" and not style.bundled
    assert style.thumbnail == paths.user_styles_dir() / "alpha.jpg"
    assert (style.title, style.artist, style.preset) == ("Zebra Lights", "A. Painter", "seed-tiny")
    assert style.weights == 11_865
    assert [(s.name, s.bundled) for s in styles.list_styles()] == [("wave", True), ("alpha", False)]
    assert styles.find_style("alpha") == style
    assert styles.find_style("wave").bundled
    by_path = styles.find_style(str(source_model))
    assert by_path.name == "mona" and by_path.path == source_model


def test_import_uses_card_name_and_sorts_by_title(bundled, source_model, tmp_path):
    other = export_random(tmp_path / "b.onnx", title="Apples")
    styles.import_user_style(source_model)  # named after its card: "mona"
    styles.import_user_style(other)
    assert [s.name for s in styles.list_styles()] == ["wave", "b", "mona"]


def test_unknown_style_lists_names(bundled):
    with pytest.raises(StudioError, match="unknown style 'nope'") as info:
        styles.find_style("nope")
    assert "wave" in info.value.hint


def test_import_refuses_bundled_names_bad_names_and_bad_files(bundled, source_model, tmp_path):
    with pytest.raises(StudioError, match="bundled"):
        styles.import_user_style(source_model, name="wave")
    with pytest.raises(StudioError, match="not a valid style name"):
        styles.import_user_style(source_model, name="../evil")
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    with pytest.raises(ModelLoadError, match="junk.onnx"):
        styles.import_user_style(junk)
    assert not paths.user_styles_dir().exists() or not any(paths.user_styles_dir().iterdir())


def test_rename_and_delete(bundled, source_model):
    styles.import_user_style(source_model, name="alpha")
    styles.import_user_style(source_model, name="beta")
    with pytest.raises(StudioError, match="already exists"):
        styles.rename_user_style("alpha", "beta")
    with pytest.raises(StudioError, match="already exists"):
        styles.rename_user_style("alpha", "wave")
    renamed = styles.rename_user_style("alpha", "gamma")
    assert renamed.name == "gamma" and renamed.thumbnail is not None
    assert not (paths.user_styles_dir() / "alpha.jpg").exists()
    styles.delete_user_style("gamma")
    assert sorted(p.name for p in paths.user_styles_dir().iterdir()) == ["beta.jpg", "beta.onnx"]
    with pytest.raises(StudioError, match="no user style"):
        styles.delete_user_style("gamma")


@pytest.mark.parametrize("action", [
    lambda: styles.delete_user_style("wave"), lambda: styles.rename_user_style("wave", "x"),
])
def test_bundled_styles_are_read_only(bundled, action):
    with pytest.raises(StudioError, match="bundled and cannot be changed"):
        action()
    assert (bundled / "wave.onnx").exists()


def test_broken_user_style_is_skipped(bundled, caplog):
    paths.user_styles_dir().mkdir(parents=True)
    (paths.user_styles_dir() / "broken.onnx").write_text("garbage")
    with caplog.at_level(logging.WARNING, logger="engine.styles"):
        assert [s.name for s in styles.list_styles()] == ["wave"]
    assert "broken.onnx" in caplog.text
