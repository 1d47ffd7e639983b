"""Instant styles without torch: a template ONNX whose instance norms are set per painting.

Why: every instant style is the same backbone with other scales and shifts in its 13 affine
instance norms (``engine.training.instant``), yet exporting each one from torch took ~25 s on
a busy CPU (torch's import and the dynamo exporter) for 384 numbers. So the backbone is
exported once, through the same ``export_onnx`` as every style, and ships as a template beside
the weights, with the style map as plain arrays (``save_instant_template`` in
``engine.training.instant`` writes both). Making a style is then a small matrix product and a
copy of the template with each InstanceNormalization's scale and bias initialisers replaced:
numpy, onnx and ONNX Runtime only, the same network as the torch path's export.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

import engine
from engine.card import ModelCard
from engine.errors import ImageFormatError, ModelLoadError, StudioError
from engine.io.files import atomic_path, write_bytes_atomic

STYLE_DIM = 100  # the teacher's style vector (Magenta's bottleneck)
MAP_FORMAT = 1  # of the style map file written by ``StyleMap.save``
THUMBNAIL_SIDE = 192  # px, an instant style's gallery thumbnail (as trained styles have)
TEMPLATE_NAME = "instant-template"  # the template's card name: tells it from any other style
REBUILD_HINT = ("reinstall TinyStyle, or rebuild them from the weights with "
                "python scripts/train_instant.py --template")


@dataclass(frozen=True)
class StyleMap:
    """The linear map from a style vector to every norm's scale and shift, and where those
    land: the names of each norm's scale and bias initialisers in the template ONNX."""

    center: np.ndarray  # (100,) float32, the training paintings' mean vector
    spread: np.ndarray  # () float32, their typical deviation per dimension
    weight: np.ndarray  # (2 * channels, 100) float32 -> [scales..., shifts...]
    bias: np.ndarray  # (2 * channels,) float32
    sizes: tuple[int, ...]  # channels of each affine norm, in the backbone's module order
    scale_names: tuple[str, ...]  # template initialiser of each norm's scale
    shift_names: tuple[str, ...]  # ... and of its shift (InstanceNormalization's B)

    def norm_params(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A (1, 100) style vector -> scales and shifts, (channels,) float32 each; computed as
        torch's ``InstantModel.norm_params`` does, in float32."""
        x = (np.asarray(vector, np.float32).reshape(STYLE_DIM) - self.center) / self.spread
        params = self.weight @ x + self.bias
        if not np.isfinite(params).all():
            raise StudioError("the instant style map gives NaN or infinite norm parameters",
                              hint="the painting's style vector or the map is broken")
        return np.split(params, 2)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the map as a small .npz (plain arrays, no pickle), atomically."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, format_version=MAP_FORMAT, center=self.center, spread=self.spread,
                     weight=self.weight, bias=self.bias, sizes=np.array(self.sizes),
                     scale_names=np.array(self.scale_names),
                     shift_names=np.array(self.shift_names))
        return path

    @classmethod
    def load(cls, path: Path) -> StyleMap:
        """Read a map written by ``save``; ModelLoadError if it is missing or not one."""
        if not path.is_file():
            raise ModelLoadError(f"{path}: no instant style map there", hint=REBUILD_HINT)
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["format_version"]) != MAP_FORMAT:
                    raise ValueError(f"format version {data['format_version']}, "
                                     f"expected {MAP_FORMAT}")
                style_map = cls(
                    center=data["center"].astype(np.float32).reshape(STYLE_DIM),
                    spread=data["spread"].astype(np.float32).reshape(()),
                    weight=data["weight"].astype(np.float32), bias=data["bias"].astype(np.float32),
                    sizes=tuple(int(s) for s in data["sizes"]),
                    scale_names=tuple(str(s) for s in data["scale_names"]),
                    shift_names=tuple(str(s) for s in data["shift_names"]))
            style_map.check()
        except Exception as exc:  # zip, key, dtype and shape errors all mean "not our file"
            raise ModelLoadError(f"{path}: not an instant style map ({error_summary(exc)})",
                                 hint=REBUILD_HINT) from None
        return style_map

    def check(self) -> None:
        """ValueError unless the arrays and names agree in size."""
        channels = sum(self.sizes)
        if self.weight.shape != (2 * channels, STYLE_DIM) or self.bias.shape != (2 * channels,):
            raise ValueError(f"map of shape {self.weight.shape} for {channels} channels")
        if not len(self.sizes) == len(self.scale_names) == len(self.shift_names):
            raise ValueError("the norm sizes and initialiser names disagree")


@dataclass(frozen=True)
class InstantTemplate:
    """The backbone's template ONNX with its card, and the style map that fills it in."""

    style_map: StyleMap
    model: onnx.ModelProto
    card: ModelCard  # the template's: preset, weights, size multiple, network config

    @property
    def preset(self) -> str:
        return self.card.preset

    def initialisers(self, model: onnx.ModelProto) -> list[tuple[onnx.TensorProto, int]]:
        """``model``'s (scale, size) and (shift, size) initialisers the map sets, norm by norm.

        KeyError or ValueError if ``model`` does not have them as the map says.
        """
        inits = {init.name: init for init in model.graph.initializer}
        found = []
        for names in (self.style_map.scale_names, self.style_map.shift_names):
            for name, size in zip(names, self.style_map.sizes, strict=True):
                init = inits[name]
                if init.data_type != onnx.TensorProto.FLOAT or list(init.dims) != [size]:
                    raise ValueError(f"initialiser {name!r} is not {size} float32 values")
                found.append((init, size))
        return found


def shipped_map() -> Path:
    """The shipped style map; the template ONNX is beside it (``template_path``)."""
    from engine.io import paths

    return paths.resources_dir() / "instant" / "instant-fast-16-r5-zs.npz"


def template_path(map_path: Path) -> Path:
    """A style map's template ONNX: the same name with .onnx."""
    return map_path.with_suffix(".onnx")


def load_template(map_path: str | os.PathLike | None = None) -> InstantTemplate:
    """The style map (default: the shipped one) and its template; ModelLoadError with a hint
    if either is missing, damaged or not made for the other."""
    map_path = Path(map_path) if map_path is not None else shipped_map()
    style_map = StyleMap.load(map_path)
    path = template_path(map_path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no instant style template there", hint=REBUILD_HINT)
    try:
        model = onnx.load_model_from_string(path.read_bytes())
        card = ModelCard.from_metadata({p.key: p.value for p in model.metadata_props})
        if card.name != TEMPLATE_NAME:
            raise ValueError(f"its card names '{card.name}', not '{TEMPLATE_NAME}'")
        template = InstantTemplate(style_map, model, card)
        template.initialisers(model)
    except Exception as exc:  # protobuf, card and initialiser errors all mean "not the one"
        raise ModelLoadError(f"{path}: not the instant style template of {map_path.name} "
                             f"({error_summary(exc)})", hint=REBUILD_HINT) from None
    return template


def instant_model(template: InstantTemplate, style_vector: np.ndarray, card: ModelCard
                  ) -> onnx.ModelProto:
    """A copy of the template with the norms of ``style_vector`` and ``card`` in it."""
    model = onnx.ModelProto()
    model.CopyFrom(template.model)
    inits = template.initialisers(model)
    params = np.concatenate(template.style_map.norm_params(style_vector))
    values = np.split(params, np.cumsum([size for _, size in inits])[:-1])
    for (init, _), value in zip(inits, values, strict=True):
        init.CopyFrom(numpy_helper.from_array(value, init.name))
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, card.to_metadata())
    # export_onnx's describe() names the style in the model's doc string: the template says
    # "... style model 'instant-template'. ...", a style "... style model 'NAME': TITLE. ..."
    named = f"'{card.name}'{': ' + card.title if card.title else ''}"
    model.doc_string = model.doc_string.replace(f"'{TEMPLATE_NAME}'", named, 1)
    return model


def instant_card(template: InstantTemplate, source: str, name: str, title: str) -> ModelCard:
    """An instant style's card: the template's network facts, this painting's provenance."""
    from engine.training.teacher import CREDIT

    return dataclasses.replace(
        template.card, name=name, title=title, painting_source=source,
        engine_version=engine.__version__,
        description=f"instant style (conditional instance norm) from {source}; "
                    f"style vector: {CREDIT}")


def write_instant_style(template: InstantTemplate, style_vector: np.ndarray,
                        painting: np.ndarray, source: str, name: str, title: str,
                        folder: Path) -> Path:
    """``folder/<name>.onnx`` with its card (its near-black guard fitted, ~0.5 s), and its
    gallery thumbnail (the painting's centre), both written atomically; ``source`` is the
    painting's file name. The CLI and the app both make styles this way."""
    from engine import styles
    from engine.io.images import save_image
    from engine.training.dark_guard_fit import add_dark_guard
    from engine.training.teacher import centre_square

    model = instant_model(template, style_vector, instant_card(template, source, name, title))
    out = write_bytes_atomic(folder / f"{name}.onnx", model.SerializeToString())
    add_dark_guard(out, painting)
    save_image(out.with_suffix(styles.THUMBNAIL_SUFFIX), centre_square(painting, THUMBNAIL_SIDE))
    return out


def read_painting(path: Path) -> np.ndarray:
    """uint8 (H, W, 3) RGB of the painting at ``path``; StudioError with a hint if unreadable."""
    from engine.io.images import load_image

    try:
        return load_image(path).rgb
    except ImageFormatError as exc:
        raise StudioError(f"painting {exc.message}", hint="choose a JPEG or PNG painting") \
            from None


def error_summary(exc: BaseException) -> str:
    """'ExcType: first line of its message' (120 characters at most), for one-line errors."""
    detail = (str(exc).strip().splitlines() or [""])[0][:120]
    return f"{type(exc).__name__}: {detail}"
