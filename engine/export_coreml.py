"""Our ONNX model or checkpoint -> Core ML, image in (``image``) and image out (``stylizedImage``).

Two formats:
- ``mlmodel``: the classic neuralnetwork spec, iOS 12+ when every layer allows it (flexible image
  sizes and 8-bit weights both need iOS 12). It is converted from the torch network by
  coremltools, then tidied at spec level: the input scaling is folded
  into the image preprocessing, chains of scalar-affine layers are merged, blobs get short
  names, weights are quantised (8 bits: per-channel linear; 16: half floats). The default, and
  the smallest file (about 16 KB for seed-tiny).
- ``mlpackage``: an ML program (iOS 16+), fp32/fp16 weights or 8-bit linear quantisation.

Both accept any width and height in a range (``SizeRange``); the network needs multiples of its
``size_multiple``, which Core ML cannot express, so the model descriptions say so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import engine
from engine.card import ModelCard
from engine.errors import ExportError, StudioError
from engine.fileutil import atomic_dir, atomic_path

log = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "stylizedImage"
FORMATS = ("mlmodel", "mlpackage")
BITS = (8, 16, 32)
MIN_SIDE, MAX_SIDE = 16, 8192  # px; Core ML image sides we accept in a size range
TRACE_SIZE = 64  # px; the traced example input (the converted graph is size-agnostic)

# Reports progress as (fraction 0..1, what is happening); called from the exporting thread.
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SizeRange:
    """Image sizes the exported model accepts: each side in ``min_side..max_side`` pixels."""

    min_side: int = 256  # px, smallest width or height
    max_side: int = 1920  # px, largest width or height (1080p frames fit either way round)
    default: tuple[int, int] = (640, 480)  # (width, height) Xcode shows and previews with

    def check(self, size_multiple: int, where: Path) -> None:
        """Raise ExportError unless every bound is a multiple of the network's size multiple."""
        sides = {"min_side": self.min_side, "max_side": self.max_side,
                 "default width": self.default[0], "default height": self.default[1]}
        bad = [f"{k} {v}" for k, v in sides.items() if v % size_multiple]
        if bad:
            raise ExportError(f"{where}: size range {', '.join(bad)} is not a multiple of "
                              f"{size_multiple}", hint=f"use multiples of {size_multiple}")
        if not MIN_SIDE <= self.min_side <= self.max_side <= MAX_SIDE:
            raise ExportError(f"{where}: size range {self.min_side}..{self.max_side} px is outside "
                              f"{MIN_SIDE}..{MAX_SIDE} px or reversed")
        if not all(self.min_side <= s <= self.max_side for s in self.default):
            raise ExportError(f"{where}: default size {self.default[0]}x{self.default[1]} is "
                              f"outside {self.min_side}..{self.max_side} px")


def export_coreml(
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    fmt: str = "mlmodel",
    bits: int = 8,
    sizes: SizeRange = SizeRange(),  # noqa: B008 (frozen, so sharing the default is safe)
    progress: Progress | None = None,
) -> Path:
    """Export one of our models (ONNX with card, or checkpoint) to Core ML at ``out_path``.

    Atomic: nothing appears at ``out_path`` unless the export succeeds. Returns ``out_path``.
    """
    from engine.model_io import load_network

    report = progress or (lambda fraction, message: None)
    report(0.0, "loading the model")
    net, card = load_network(model_path)
    return convert_network(net, card, out_path, fmt=fmt, bits=bits, sizes=sizes, progress=report)


def convert_network(
    net, card: ModelCard, out_path: str | os.PathLike, *, fmt: str = "mlmodel", bits: int = 8,
    sizes: SizeRange = SizeRange(),  # noqa: B008
    progress: Progress | None = None,
) -> Path:
    """Convert a ``TransformerNet`` (0..255 in and out) with its card; see ``export_coreml``."""
    out_path = Path(out_path)
    report = progress or (lambda fraction, message: None)
    _check_options(out_path, fmt, bits)
    sizes.check(net.config.size_multiple, out_path)
    card = dataclasses.replace(card, size_multiple=net.config.size_multiple,
                               model_config=card.model_config or net.config.to_dict())
    report(0.1, "converting with coremltools")
    if fmt == "mlmodel":
        spec = _neuralnetwork_spec(net, sizes, bits, out_path)
        report(0.8, "writing the model")
        _describe(spec, card, sizes)
        with atomic_path(out_path) as tmp:
            _quiet(lambda: _save_spec(spec, tmp))
    else:
        model = _mlprogram(net, sizes, bits, out_path)
        report(0.8, "writing the package")
        _describe(model._spec, card, sizes)
        with atomic_dir(out_path) as tmp:
            _quiet(lambda: model.save(str(tmp)))
    log.info("exported %s (%d bytes)", out_path, file_size(out_path))
    report(1.0, "done")
    return out_path


def file_size(path: Path) -> int:
    """Bytes in a file, or in every file under a folder (an .mlpackage)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _check_options(out_path: Path, fmt: str, bits: int) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"{out_path}: unknown Core ML format '{fmt}'",
                          hint=f"choose one of: {', '.join(FORMATS)}")
    if bits not in BITS:
        raise ExportError(f"{out_path}: cannot store weights in {bits} bits",
                          hint=f"choose one of: {', '.join(map(str, BITS))}")
    if out_path.suffix != f".{fmt}":
        raise ExportError(f"{out_path}: a {fmt} export needs the suffix .{fmt}",
                          hint="Xcode picks the model type by its file suffix")


def _quiet(work: Callable):
    """Run a coremltools call whose progress bars and prints would reach our stdout."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        result = work()
    if buffer.getvalue().strip():
        log.debug("coremltools: %s", buffer.getvalue().strip()[-2000:])
    return result


def _traced(net):
    import torch

    net = net.float().cpu().eval()
    sample = torch.rand(1, 3, TRACE_SIZE, TRACE_SIZE) * 255.0
    with torch.no_grad():
        return torch.jit.trace(net, sample)


def _convert(net, sizes: SizeRange, out_path: Path, *, flexible: bool, **kwargs):
    """ct.convert with an RGB image input; ExportError naming the target on failure.

    ``flexible=False`` converts at the default size: the neuralnetwork backend then emits plain
    ``add`` layers (with symbolic sizes it emits iOS 13 ``addBroadcastable``), and the size range
    is set on the spec afterwards, once every layer is known to be size-agnostic.
    """
    import coremltools as ct

    width, height = sizes.default
    shape = (1, 3, height, width)
    if flexible:
        shape = (1, 3, ct.RangeDim(sizes.min_side, sizes.max_side, default=height),
                 ct.RangeDim(sizes.min_side, sizes.max_side, default=width))
    image = ct.ImageType(name=INPUT_NAME, shape=shape, color_layout=ct.colorlayout.RGB)
    try:
        return _quiet(lambda: ct.convert(_traced(net), inputs=[image], **kwargs))
    except Exception as exc:  # coremltools raises many internal types
        raise ExportError(f"{out_path}: Core ML conversion failed ({type(exc).__name__}: {exc})",
                          hint="this network uses an operation the chosen format lacks") from exc


def _neuralnetwork_spec(net, sizes: SizeRange, bits: int, out_path: Path):
    """A tidied, quantised neuralnetwork spec with image input and output."""
    import coremltools as ct

    model = _convert(net, sizes, out_path, flexible=False, convert_to="neuralnetwork",
                     outputs=[ct.TensorType(name=OUTPUT_NAME)])
    spec = model.get_spec()
    _slices_to_crop(spec, net.margin)
    _check_size_agnostic(spec, out_path)
    _fold_input_affine(spec)
    _merge_affine_chains(spec)
    _shorten_names(spec)
    if bits < 32:
        spec = _quantized(spec, bits)
    _set_image_sizes(spec, sizes)
    _lower_spec_version(spec)
    return spec


def _quantized(spec, bits: int):
    import coremltools as ct
    from coremltools.models.neural_network import quantization_utils

    model = _quiet(lambda: quantization_utils.quantize_weights(ct.models.MLModel(spec), bits))
    return model.get_spec() if hasattr(model, "get_spec") else model


def _mlprogram(net, sizes: SizeRange, bits: int, out_path: Path):
    """An ML program (iOS 16): fp32, fp16, or fp16 activations with 8-bit linear weights."""
    import coremltools as ct

    precision = ct.precision.FLOAT32 if bits == 32 else ct.precision.FLOAT16
    model = _convert(net, sizes, out_path, flexible=True, convert_to="mlprogram",
                     outputs=[ct.ImageType(name=OUTPUT_NAME, color_layout=ct.colorlayout.RGB)],
                     compute_precision=precision, minimum_deployment_target=ct.target.iOS16)
    if bits == 8:
        config = ct.optimize.coreml.OptimizationConfig(
            global_config=ct.optimize.coreml.OpLinearQuantizerConfig(
                mode="linear", dtype="int8", granularity="per_channel", weight_threshold=0))
        model = _quiet(lambda: ct.optimize.coreml.linear_quantize_weights(model, config))
    return model


def _describe(spec, card: ModelCard, sizes: SizeRange) -> None:
    """Fill the metadata Xcode shows, and keep our card as user-defined metadata."""
    meta = spec.description.metadata
    by = f" by {card.artist}" if card.artist else ""
    meta.shortDescription = (f"Fast style transfer: {card.title or card.name}{by}. "
                             f"{card.preset or 'custom'} network, {card.weights} weights.")
    meta.author = f"TinyStyle Studio {engine.__version__}"
    meta.license = card.licence
    meta.versionString = card.engine_version
    for key, value in card.to_metadata().items():
        meta.userDefined[key] = value
    sides = f"{sizes.min_side}..{sizes.max_side} px, multiples of {card.size_multiple}"
    spec.description.input[0].shortDescription = f"RGB photo; width and height {sides}"
    spec.description.output[0].shortDescription = "Stylized RGB image, same size as the input"


def _save_spec(spec, path: Path) -> None:
    import coremltools as ct

    try:
        ct.utils.save_spec(spec, str(path))
    except OSError as exc:
        raise StudioError(f"{path}: cannot write the model ({exc.strerror or exc})") from exc


# --- neuralnetwork spec passes -------------------------------------------------------------------
# Layer types whose parameters do not depend on the image size, so flexible sizes stay correct.
SIZE_AGNOSTIC = frozenset({
    "convolution", "batchnorm", "activation", "padding", "upsample", "add", "multiply",
    "reorganizeData", "unary", "scale", "bias", "loadConstantND", "crop",
})
# Layer types that exist since iOS 11 (spec 1); quantised weights and size ranges need spec 3.
IOS12_LAYERS = SIZE_AGNOSTIC - {"loadConstantND"}
IOS12_SPEC_VERSION = 3


def _slices_to_crop(spec, margin: int) -> None:
    """Turn the converter's slices that cut a zero-padded network's input margin back off
    (end indices baked for the traced size) into one size-agnostic crop layer."""
    layers = spec.neuralNetwork.layers
    slices = [i for i, layer in enumerate(layers) if layer.WhichOneof("layer") == "slice"]
    if not margin or not slices:
        return
    first, last = layers[slices[0]], layers[slices[-1]]
    chained = len(slices) == 2 and last.input[0] == first.output[0]
    if not chained or slices[-1] != len(layers) - 1 \
            or any(layers[i].slice.startIndex != margin for i in slices):
        return  # not the margin crop: _check_size_agnostic will refuse the graph
    crop = layers.add()
    crop.name, crop.input[:], crop.output[:] = "crop_margin", [first.input[0]], [last.output[0]]
    for _ in range(2):  # height, then width
        border = crop.crop.cropAmounts.borderAmounts.add()
        border.startEdgeSize = border.endEdgeSize = margin
    for i in reversed(slices):
        del layers[i]


def _check_size_agnostic(spec, out_path: Path) -> None:
    """Refuse graphs with shape-baking layers (reshape, constants): they break flexible sizes."""
    for layer in spec.neuralNetwork.layers:
        kind = layer.WhichOneof("layer")
        scalar = kind != "loadConstantND" or len(layer.loadConstantND.data.floatValue) == 1
        if kind not in SIZE_AGNOSTIC or not scalar:
            raise ExportError(f"{out_path}: the network has a '{kind}' layer that fixes the image "
                              "size; a flexible-size .mlmodel cannot hold it",
                              hint="try --format mlpackage")


def _scalar_affine(layer) -> tuple[float, float] | None:
    """(a, b) when a one-input layer computes a * x + b with scalars, else None."""
    kind = layer.WhichOneof("layer")
    if len(layer.input) != 1:
        return None
    if kind == "multiply":
        return layer.multiply.alpha, 0.0
    if kind == "add":
        return 1.0, layer.add.alpha
    if kind == "activation" and layer.activation.WhichOneof("NonlinearityType") == "linear":
        return layer.activation.linear.alpha, layer.activation.linear.beta
    return None


def _affine_of(layer, affine: dict, consts: dict) -> tuple[str, tuple[float, float]] | None:
    """Whether ``layer`` is affine in the image (or constant): ('affine'|'const', (a, b))."""
    kind = layer.WhichOneof("layer")
    if kind == "loadConstantND" and len(layer.loadConstantND.data.floatValue) == 1:
        return "const", (0.0, layer.loadConstantND.data.floatValue[0])
    step = _scalar_affine(layer)
    if step is not None and layer.input[0] in consts:
        return "const", (0.0, step[0] * consts[layer.input[0]] + step[1])
    if step is not None and layer.input[0] in affine:
        a, b = affine[layer.input[0]]
        return "affine", (step[0] * a, step[0] * b + step[1])
    ins = list(layer.input)
    if kind in ("add", "multiply") and len(ins) == 2 and {*ins} <= {*affine, *consts}:
        var = [n for n in ins if n in affine]
        if len(var) == 1:
            (a, b), c = affine[var[0]], consts[next(n for n in ins if n in consts)]
            return "affine", ((a, b + c) if kind == "add" else (a * c, b * c))
    return None


def _fold_input_affine(spec) -> None:
    """Move the network's leading ``x / 127.5 - 1`` into the image preprocessing scaler.

    Core ML applies the scaler while it reads the pixel buffer, so this saves full-resolution
    passes on the device and a few layers in the file.
    """
    layers = spec.neuralNetwork.layers
    margin = _take_input_margin(layers)  # per-pixel affine commutes with edge replication
    affine: dict[str, tuple[float, float]] = {INPUT_NAME: (1.0, 0.0)}
    consts: dict[str, float] = {}
    count = 0
    for layer in layers:
        found = _affine_of(layer, affine, consts)
        if found is None:
            break
        kind, (a, b) = found
        if kind == "affine":
            affine[layer.output[0]] = (a, b)
        else:
            consts[layer.output[0]] = b
        count += 1
    used = {name for layer in layers[count:] for name in layer.input}
    frontier = used & ({*affine} | {*consts})
    last = frontier.pop() if len(frontier) == 1 else INPUT_NAME
    if count == 0 or last not in affine or last == INPUT_NAME:
        _put_input_margin(layers, margin)
        return
    a, b = affine[last]
    scaler = _scaler(spec)
    scaler.channelScale = a * (scaler.channelScale or 1.0)
    scaler.redBias, scaler.greenBias, scaler.blueBias = (
        a * old + b for old in (scaler.redBias, scaler.greenBias, scaler.blueBias))
    for layer in layers[count:]:
        layer.input[:] = [INPUT_NAME if n == last else n for n in layer.input]
    del layers[:count]
    _put_input_margin(layers, margin)


def _take_input_margin(layers):
    """Remove a leading edge-replication padding of the input (returned, or None), so that
    the input scaling behind it can be folded."""
    first = layers[0] if len(layers) else None
    if first is None or first.WhichOneof("layer") != "padding" \
            or first.padding.WhichOneof("PaddingType") != "replication" \
            or first.input[0] != INPUT_NAME:
        return None
    margin = type(first)()
    margin.CopyFrom(first)
    for layer in layers[1:]:
        layer.input[:] = [INPUT_NAME if n == first.output[0] else n for n in layer.input]
    del layers[0]
    return margin


def _put_input_margin(layers, margin) -> None:
    """Put a padding taken by _take_input_margin back in front of every layer."""
    if margin is None:
        return
    rest = []
    for layer in layers:
        layer.input[:] = [margin.output[0] if n == INPUT_NAME else n for n in layer.input]
        rest.append(type(layer)())
        rest[-1].CopyFrom(layer)
    del layers[:]
    for layer in [margin, *rest]:
        layers.add().CopyFrom(layer)


def _scaler(spec):
    """The image input's preprocessing scaler, created if missing."""
    for pre in spec.neuralNetwork.preprocessing:
        if pre.featureName == INPUT_NAME:
            return pre.scaler
    pre = spec.neuralNetwork.preprocessing.add()
    pre.featureName = INPUT_NAME
    return pre.scaler


def _merge_affine_chains(spec) -> None:
    """Merge runs of one-input scalar-affine layers (``(tanh + 1) * 127.5``) into one layer."""
    layers = spec.neuralNetwork.layers
    outputs = {o.name for o in spec.description.output}
    i = 0
    while i + 1 < len(layers):
        first, second = layers[i], layers[i + 1]
        f, s = _scalar_affine(first), _scalar_affine(second)
        blob = first.output[0]
        uses = sum(n == blob for layer in layers for n in layer.input)
        if f is None or s is None or second.input[0] != blob or uses != 1 or blob in outputs:
            i += 1
            continue
        merged = (s[0] * f[0], s[0] * f[1] + s[1])
        second.ClearField(second.WhichOneof("layer"))
        second.activation.linear.alpha, second.activation.linear.beta = merged
        second.input[:] = list(first.input)
        del layers[i]


def _shorten_names(spec) -> None:
    """Short base-36 blob and layer names: the converter's names cost ~1 KB in a 16 KB file."""
    names: dict[str, str] = {}

    def short(name: str) -> str:
        if name in (INPUT_NAME, OUTPUT_NAME):
            return name
        return names.setdefault(name, _base36(len(names)))

    for layer in spec.neuralNetwork.layers:
        layer.input[:] = [short(n) for n in layer.input]
        layer.output[:] = [short(n) for n in layer.output]
        layer.name = layer.output[0]


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    return digits[n] if n < 36 else _base36(n // 36) + digits[n % 36]


def _set_image_sizes(spec, sizes: SizeRange) -> None:
    """Make the output an RGB image, and give input and output the same size range.

    The network already maps its output to 0..255, what an image output needs. A size range on
    a neuralnetwork image feature is part of the spec since iOS 12 (Turi Create's style
    transfer exports used the same for its ``stylizedImage``).
    """
    from coremltools.proto import FeatureTypes_pb2

    spec.description.output[0].type.imageType.colorSpace = FeatureTypes_pb2.ImageFeatureType.RGB
    for feature in (spec.description.input[0], spec.description.output[0]):
        image = feature.type.imageType
        image.width, image.height = sizes.default
        for bounds in (image.imageSizeRange.widthRange, image.imageSizeRange.heightRange):
            bounds.lowerBound, bounds.upperBound = sizes.min_side, sizes.max_side


def _lower_spec_version(spec) -> None:
    """Target iOS 12 (spec 3) when every layer is one iOS 11 already had."""
    for layer in spec.neuralNetwork.layers:
        kind = layer.WhichOneof("layer")
        if kind not in IOS12_LAYERS:
            return
        upsample = layer.upsample
        if kind == "upsample" and (upsample.mode != upsample.NN or
                                   len(upsample.fractionalScalingFactor)):
            return
        if kind == "reorganizeData" and layer.reorganizeData.mode == 2:  # PIXEL_SHUFFLE: iOS 14
            return
    spec.specificationVersion = IOS12_SPEC_VERSION
