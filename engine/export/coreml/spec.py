"""Passes over a converted Core ML neuralnetwork spec, for ``engine.export.coreml.convert``.

coremltools converts the traced torch network at one size; these passes make the spec hold for
any size in a range (or refuse it), fold the input scaling into the image preprocessing, merge
scalar-affine chains, shorten names, and target the oldest iOS whose layers suffice.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ExportError

if TYPE_CHECKING:
    from engine.export.coreml.sizes import SizeRange

INPUT_NAME = "image"
OUTPUT_NAME = "stylizedImage"


def tidy(spec, margin: int, where: Path) -> None:
    """Size-agnostic crops, size check, folded input scaling, merged affines, short names."""
    _noise_slices_to_crops(spec)
    _slices_to_crop(spec, margin)
    _check_size_agnostic(spec, where)
    _fold_input_affine(spec)
    _merge_affine_chains(spec)
    _shorten_names(spec)


def pack_two_valued_weights(spec) -> None:
    """Store conv kernels of at most two distinct values (the noise tiles of
    ``engine.models.noise``, their zero ones-convs) as 1-bit lookup tables: exact, and an
    eighth of 8-bit codes with no per-channel scale and bias (8 bytes a channel, which the
    noise tiles' one-value channels would each carry: ~90 KB for Great Wave's 11,298)."""
    import numpy as np

    for layer in spec.neuralNetwork.layers:
        params = layer.convolution.weights if layer.WhichOneof("layer") == "convolution" else None
        if params is None or not len(params.floatValue):
            continue
        values = np.asarray(params.floatValue, np.float32)
        table, codes = np.unique(values, return_inverse=True)
        if len(table) > 2:
            continue
        params.ClearField("floatValue")
        params.quantization.numberOfBits = 1
        params.quantization.lookupTableQuantization.floatValue[:] = [*table, *table][:2]
        params.rawValue = np.packbits(codes.astype(np.uint8)).tobytes()


def finish(spec, sizes: SizeRange) -> None:
    """RGB image output, the size range on input and output, and the lowest spec version."""
    _set_image_sizes(spec, sizes)
    _lower_spec_version(spec)


# Layer types whose parameters do not depend on the image size, so flexible sizes stay correct.
SIZE_AGNOSTIC = frozenset({
    "convolution", "batchnorm", "activation", "padding", "upsample", "add", "multiply",
    "reorganizeData", "unary", "scale", "bias", "loadConstantND", "crop", "concat",
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


def _noise_slices_to_crops(spec) -> None:
    """Turn each noise channel's crop to the image (``engine.models.noise``: two slices after a
    depth-to-space, end indices baked for the traced size) into a crop to the size of the
    image its ones conv reads: Core ML's two-input crop takes the size from a second blob."""
    layers = spec.neuralNetwork.layers
    producer = {out: layer for layer in layers for out in layer.output}
    for i in reversed(range(len(layers) - 1)):
        first, second = layers[i], layers[i + 1]
        if not first.WhichOneof("layer") == second.WhichOneof("layer") == "slice":
            continue
        tiles = producer.get(first.input[0])
        if not (second.input[0] == first.output[0] and tiles is not None
                and tiles.WhichOneof("layer") == "reorganizeData"
                and first.slice.startIndex == second.slice.startIndex == 0):
            continue
        image = producer[producer[tiles.input[0]].input[0]].input[0]  # tile conv <- ones conv
        output = second.output[0]
        first.ClearField("slice")
        first.crop.offset[:] = [0, 0]
        first.input.append(image)
        first.output[:] = [output]
        del layers[i + 1]


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
