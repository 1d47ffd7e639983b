"""Fuzz targets for issue 13: mutate real files, feed them to the loaders, ``Stylizer``, import
and the CLI; each case must end in a result or a clean StudioError (exit 2) within a time limit,
with no partial file left. Used by tests/fuzz/test_fuzz.py (short) and scripts/fuzz.py (long).
"""

from __future__ import annotations

import contextlib
import io
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from hypothesis import strategies as st

from engine.errors import StudioError
from engine.io.files import TEMP_PREFIX

REPO = Path(__file__).resolve().parents[2]
CASE_SECONDS = 20  # one case taking longer is a failure (a hang)
MAGIC = [b"%!PS-Adobe-3.0 EPSF-3.0\n", b"GIF89a", b"II*\x00", b"\x89PNG\r\n\x1a\n", b"BM",
         b"RIFF\x00\x00\x00\x00WEBP", b"\xff\xd8\xff", b"\x00" * 16, b"\xff" * 16]


@dataclass
class Seeds:
    """The real files every mutation starts from (small, so cases stay fast)."""

    images: list[bytes]
    model: bytes
    checkpoint: dict

    @classmethod
    def build(cls, folder: Path) -> Seeds:
        from PIL import Image

        from engine.card import ModelCard
        from engine.export.to_onnx import export_onnx
        from engine.models.config import net_preset
        from engine.models.transformer import TransformerNet

        images = []
        for photo, fmt in zip(sorted((REPO / "resources" / "photos").glob("*.jpg"))[:3],
                              ("JPEG", "PNG", "WEBP"), strict=True):
            buffer = io.BytesIO()
            with Image.open(photo) as im:
                im.convert("RGB").resize((48, 32)).save(buffer, fmt)
            images.append(buffer.getvalue())
        torch.manual_seed(0)
        net = TransformerNet(net_preset("seed-tiny")).eval()
        model = export_onnx(net, ModelCard(name="fuzz", preset="seed-tiny"), folder / "fuzz.onnx")
        from hostile_cases import small_checkpoint_state

        return cls(images, model.read_bytes(), small_checkpoint_state())


def mutate_bytes(data: bytes, draw) -> bytes:
    """Bit flips, overwrites, truncation, insertion or a foreign magic number."""
    kind = draw(st.sampled_from(["flip", "overwrite", "truncate", "insert", "magic"]))
    n = len(data)
    at = draw(st.integers(0, max(0, n - 1)))
    if kind == "flip":
        out = bytearray(data)
        for pos in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8)):
            out[pos] ^= 1 << draw(st.integers(0, 7))
        return bytes(out)
    if kind == "overwrite":
        chunk = draw(st.binary(min_size=1, max_size=64))
        return data[:at] + chunk + data[at + len(chunk):]
    if kind == "truncate":
        return data[:at]
    if kind == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
    return draw(st.sampled_from(MAGIC)) + data[draw(st.integers(0, 16)):]


CARD_VALUES = st.one_of(st.integers(-2**70, 2**70).map(str),
                        st.floats(allow_nan=True, allow_infinity=True).map(str),
                        st.text(max_size=40),
                        st.sampled_from(['[1, 2]', '{"widths": "abc"}', '{"alpha": 1e308}',
                                         '{"residual_blocks": 1000000}', '"x"', 'null', '{}',
                                         '{"widths": [1, 1, 1], "outer_kernel": 4}']))
OP_TYPES = st.sampled_from(["Loop", "If", "Scan", "Conv", "Relu", "Identity", "Mul",
                            "Resize", "Custom", "Tanh"])


def mutate_model(data: bytes, draw) -> bytes:
    """Structured mutations of the ONNX file (card, ops, shapes), or raw byte mutations."""
    kind = draw(st.sampled_from(["card", "op", "dims", "drop", "bytes"]))
    if kind == "bytes":
        return mutate_bytes(data, draw)
    model = onnx.load_from_string(data)
    if kind == "card":
        key = draw(st.sampled_from(["model_config", "size_multiple", "weights", "steps", "name"]))
        props = {p.key: p.value for p in model.metadata_props} | {key: draw(CARD_VALUES)}
        del model.metadata_props[:]
        onnx.helper.set_model_props(model, props)
    elif kind == "op":
        node = model.graph.node[draw(st.integers(0, len(model.graph.node) - 1))]
        node.op_type = draw(OP_TYPES)
    elif kind == "dims":
        value = draw(st.sampled_from([model.graph.input[0], model.graph.output[0]]))
        dim = value.type.tensor_type.shape.dim[draw(st.integers(0, 3))]
        dim.dim_value = draw(st.sampled_from([0, 1, 2, 4, 7, 60000, 2**40]))
    else:
        del model.graph.node[draw(st.integers(0, len(model.graph.node) - 1))]
    return model.SerializeToString()


def mutate_checkpoint(state: dict, draw) -> dict:
    """Replace one entry somewhere in the checkpoint with a value of another type or shape."""
    import copy

    state = copy.deepcopy(state)
    key = draw(st.sampled_from(sorted(state)))
    replacement = draw(st.sampled_from(
        [None, -1, 2**62, "x", [], {}, torch.zeros(2, 2), torch.zeros(7, dtype=torch.uint8)]))
    inner = state[key]
    if isinstance(inner, dict) and inner and draw(st.booleans()):
        inner[draw(st.sampled_from(sorted(map(str, inner))))] = replacement
    else:
        state[key] = replacement
    return state


@contextlib.contextmanager
def time_limit(seconds: int = CASE_SECONDS) -> Iterator[None]:
    """Fail a case that runs too long (checked between Python bytecodes)."""
    def expired(signum, frame):
        raise TimeoutError(f"case ran over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_clean(exc: StudioError, *names: object) -> None:
    """One line, naming the file when the error is about one."""
    assert "\n" not in exc.message, exc.message
    if names:
        assert any(str(n) in exc.message for n in names), exc.message


def assert_no_temps(folder: Path) -> None:
    assert not list(folder.rglob(f"{TEMP_PREFIX}*")), list(folder.rglob(f"{TEMP_PREFIX}*"))


def check_image(data: bytes, suffix: str) -> None:
    from engine.io.images import load_image

    with tempfile.TemporaryDirectory() as tmp, time_limit():
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            image = load_image(path)
        except StudioError as exc:
            assert_clean(exc, path)
            return
        assert image.rgb.dtype == np.uint8 and image.rgb.ndim == 3 and image.rgb.shape[2] == 3
        assert image.alpha is None or image.alpha.shape == image.rgb.shape[:2]


def check_model(data: bytes, photo: np.ndarray) -> None:
    """Import the model; if it is accepted, the Stylizer must style a photo with it."""
    from engine.runtime.stylizer import Stylizer
    from engine.styles import import_user_style

    with tempfile.TemporaryDirectory() as tmp, time_limit():
        path = Path(tmp) / "fuzz.onnx"
        path.write_bytes(data)
        try:
            style = import_user_style(path, name="fuzz")
            out = Stylizer(style.path, threads=1).stylize(photo)
        except StudioError as exc:
            assert_clean(exc)
            return
        assert out.shape == photo.shape and out.dtype == np.uint8


def check_checkpoint(state: dict) -> None:
    from engine.io.model_files import load_network
    from engine.training.checkpoint import load_resumable

    with tempfile.TemporaryDirectory() as tmp, time_limit():
        path = Path(tmp) / "checkpoint.pt"
        torch.save({"format_version": 1, **state}, path)
        for load in (load_resumable, load_network):
            try:
                load(path)
            except StudioError as exc:
                assert_clean(exc, path)


def check_cli(image: bytes, suffix: str, model: bytes) -> None:
    """``tinystyle stylize``: exit 0 with a readable output, or exit 2; no partial file."""
    from engine.cli import main
    from engine.io.images import load_image

    with tempfile.TemporaryDirectory() as tmp, time_limit():
        folder = Path(tmp)
        (folder / f"in{suffix}").write_bytes(image)
        (folder / "style.onnx").write_bytes(model)
        out = folder / "out" / "result.png"
        with contextlib.redirect_stderr(io.StringIO()) as err, \
                contextlib.redirect_stdout(io.StringIO()):
            code = main(["stylize", str(folder / f"in{suffix}"), "--style",
                         str(folder / "style.onnx"), "-o", str(out), "--threads", "1"])
        assert code in (0, 2), err.getvalue()
        lines = err.getvalue().splitlines()
        assert all(line.startswith(("error: ", "hint: ")) for line in lines), lines
        if code == 0:
            load_image(out)
        else:
            assert not out.exists() and lines
        assert_no_temps(folder)
