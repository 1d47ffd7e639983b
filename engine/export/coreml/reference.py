"""A numpy reference evaluator for the neuralnetwork ``.mlmodel`` files we export.

coremltools cannot run a model off macOS, so the export is checked here instead: this module
reads the spec (weights dequantised from the file itself: n-bit linear quantisation, lookup
tables, half floats) and computes the layers the way NeuralNetwork.proto defines them, in
float32 with (C, H, W) blobs. It knows the layer types our exports emit, written generically;
any other type raises ``UnsupportedLayerError``. Device results differ slightly: the GPU and
the Neural Engine compute in float16.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from engine.errors import ExportError


class UnsupportedLayerError(ExportError):
    """The spec has a layer (or layer option) this evaluator does not implement."""


def load_spec(path: str | os.PathLike):
    """The protobuf spec of an ``.mlmodel`` file."""
    import coremltools as ct

    return ct.utils.load_spec(str(path))


def evaluate(spec, rgb: np.ndarray) -> np.ndarray:
    """Run a one-image-in, one-image-out neuralnetwork spec on uint8 HxWx3 RGB.

    Returns the output image as float32 HxWx3; Core ML clamps it to 0..255 when it writes the
    output pixel buffer (see ``to_uint8``).
    """
    net = spec.neuralNetwork
    name = spec.description.input[0].name
    x = rgb.astype(np.float32).transpose(2, 0, 1)  # (3, H, W), 0..255
    for pre in net.preprocessing:
        if pre.featureName == name and pre.WhichOneof("preprocessor") == "scaler":
            s = pre.scaler
            bias = np.array([s.redBias, s.greenBias, s.blueBias], np.float32)[:, None, None]
            x = x * np.float32(s.channelScale or 1.0) + bias
    blobs = {name: x}
    for layer in net.layers:
        kind = layer.WhichOneof("layer")
        if kind not in LAYERS:
            raise UnsupportedLayerError(f"layer '{layer.name}': type '{kind}' is not supported "
                                        "by the reference evaluator")
        result = LAYERS[kind](getattr(layer, kind), [blobs[n] for n in layer.input])
        blobs[layer.output[0]] = result.astype(np.float32)
    return blobs[spec.description.output[0].name].transpose(1, 2, 0)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """What an image output holds: rounded and clamped to 0..255."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# --- weights ------------------------------------------------------------------------------------
def weights(params, count: int, channels: int = 1) -> np.ndarray:
    """Dequantised float32 values of a ``WeightParams`` holding ``count`` numbers.

    ``channels`` is the leading axis linear quantisation scales over (conv output channels).
    """
    if len(params.floatValue):
        return np.asarray(params.floatValue, np.float32)
    if len(params.float16Value):
        return np.frombuffer(params.float16Value, "<f2", count).astype(np.float32)
    quant = params.quantization
    if not len(params.rawValue) or quant.numberOfBits == 0:
        raise UnsupportedLayerError(f"weights of {count} values in an unknown storage")
    codes = _unpack(params.rawValue, quant.numberOfBits, count)
    if quant.WhichOneof("QuantizationType") == "lookupTableQuantization":
        return np.asarray(quant.lookupTableQuantization.floatValue, np.float32)[codes]
    linear = quant.linearQuantization
    scale, bias = (np.asarray(v, np.float32) for v in (linear.scale, linear.bias))
    rows = channels if len(scale) == channels else 1
    codes = codes.reshape(rows, -1).astype(np.float32)
    return (codes * scale.reshape(-1, 1) + bias.reshape(-1, 1)).reshape(-1)


def _unpack(raw: bytes, bits: int, count: int) -> np.ndarray:
    """n-bit codes, packed most significant bit first (as coremltools packs them)."""
    data = np.frombuffer(raw, np.uint8)
    if bits == 8:
        return data[:count].astype(np.int64)
    unpacked = np.unpackbits(data)[: count * bits].reshape(count, bits)
    return unpacked.dot(1 << np.arange(bits - 1, -1, -1))


# --- layers: each takes (params, inputs as (C, H, W) arrays) and returns one array ----------------
def _conv(p, inputs):
    if p.isDeconvolution:
        raise UnsupportedLayerError("deconvolution is not supported by the reference evaluator")
    x = inputs[0]
    groups = p.nGroups or 1
    kh, kw = p.kernelSize or (3, 3)
    sh, sw = p.stride or (1, 1)
    dh, dw = p.dilationFactor or (1, 1)
    count = p.outputChannels * p.kernelChannels * kh * kw
    w = weights(p.weights, count, p.outputChannels).reshape(
        p.outputChannels, p.kernelChannels, kh, kw)
    x = np.pad(x, ((0, 0), *_conv_padding(p, x.shape[1:], (kh, kw), (sh, sw), (dh, dw))))
    out_h = (x.shape[1] - (kh - 1) * dh - 1) // sh + 1
    out_w = (x.shape[2] - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((p.outputChannels, out_h * out_w), np.float32)
    per_in, per_out = x.shape[0] // groups, p.outputChannels // groups
    for g in range(groups):
        xg, wg = x[g * per_in:(g + 1) * per_in], w[g * per_out:(g + 1) * per_out]
        for i in range(kh):
            for j in range(kw):
                patch = xg[:, i * dh:i * dh + sh * out_h:sh, j * dw:j * dw + sw * out_w:sw]
                out[g * per_out:(g + 1) * per_out] += wg[:, :, i, j] @ patch.reshape(per_in, -1)
    if p.hasBias:
        out += weights(p.bias, p.outputChannels)[:, None]
    return out.reshape(p.outputChannels, out_h, out_w)


def _conv_padding(p, size, kernel, stride, dilation) -> list[tuple[int, int]]:
    if p.WhichOneof("ConvolutionPaddingType") == "valid":
        borders = p.valid.paddingAmounts.borderAmounts
        return [(b.startEdgeSize, b.endEdgeSize) for b in borders] or [(0, 0), (0, 0)]
    pads = []
    for n, k, s, d in zip(size, kernel, stride, dilation, strict=True):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        top_heavy = p.same.asymmetryMode == p.same.TOP_LEFT_HEAVY
        first = total - total // 2 if top_heavy else total // 2
        pads.append((first, total - first))
    return pads


def _batchnorm(p, inputs):
    x, c = inputs[0], p.channels
    gamma, beta = weights(p.gamma, c), weights(p.beta, c)
    if p.computeMeanVar:  # a batch of one: instance and batch statistics agree
        mean, var = x.mean(axis=(1, 2)), x.var(axis=(1, 2))
    else:
        mean, var = weights(p.mean, c), weights(p.variance, c)
    scale = gamma / np.sqrt(var + p.epsilon)
    return x * scale[:, None, None] + (beta - mean * scale)[:, None, None]


ACTIVATIONS: dict[str, Callable] = {
    "ReLU": lambda a, x: np.maximum(x, 0),
    "leakyReLU": lambda a, x: np.where(x >= 0, x, a.alpha * x),
    "tanh": lambda a, x: np.tanh(x),
    "scaledTanh": lambda a, x: a.alpha * np.tanh(a.beta * x),
    "sigmoid": lambda a, x: 1 / (1 + np.exp(-x)),
    "sigmoidHard": lambda a, x: np.clip(a.alpha * x + a.beta, 0, 1),
    "linear": lambda a, x: a.alpha * x + a.beta,
    "ELU": lambda a, x: np.where(x >= 0, x, a.alpha * (np.exp(x) - 1)),
    "softsign": lambda a, x: x / (1 + np.abs(x)),
    "softplus": lambda a, x: np.logaddexp(0, x),
    "thresholdedReLU": lambda a, x: np.where(x > a.alpha, x, 0),
}


def _activation(p, inputs):
    kind = p.WhichOneof("NonlinearityType")
    if kind not in ACTIVATIONS:
        raise UnsupportedLayerError(f"activation '{kind}' is not supported by the evaluator")
    return ACTIVATIONS[kind](getattr(p, kind), inputs[0])


def _elementwise(op: Callable, identity: float) -> Callable:
    def layer(p, inputs):
        if len(inputs) == 1:  # one input: combine with the layer's alpha
            return op(inputs[0], np.float32(p.alpha))
        out = np.full(np.broadcast_shapes(*(x.shape for x in inputs)), identity, np.float32)
        for x in inputs:
            out = op(out, x)
        return out
    return layer


def _upsample(p, inputs):
    if p.mode != p.NN or len(p.fractionalScalingFactor):
        raise UnsupportedLayerError("only nearest-neighbour integer upsampling is supported")
    fh, fw = p.scalingFactor or (1, 1)
    return inputs[0].repeat(fh, axis=1).repeat(fw, axis=2)


def _padding(p, inputs):
    borders = [(b.startEdgeSize, b.endEdgeSize) for b in p.paddingAmounts.borderAmounts]
    pad = [(0, 0), *(borders or [(0, 0), (0, 0)])]
    kind = p.WhichOneof("PaddingType")
    if kind == "constant":
        return np.pad(inputs[0], pad, constant_values=p.constant.value)
    return np.pad(inputs[0], pad, mode={"reflection": "reflect", "replication": "edge"}[kind])


def _crop(p, inputs):
    """By fixed border amounts, or (two inputs) to the second's size from ``offset``."""
    _, h, w = inputs[0].shape
    if len(inputs) == 2:
        top, left = p.offset
        return inputs[0][:, top:top + inputs[1].shape[1], left:left + inputs[1].shape[2]]
    (top, bottom), (left, right) = [(b.startEdgeSize, b.endEdgeSize)
                                    for b in p.cropAmounts.borderAmounts]
    return inputs[0][:, top:h - bottom, left:w - right]


def _concat(p, inputs):
    if p.sequenceConcat:
        raise UnsupportedLayerError("only concatenation along channels is supported")
    return np.concatenate(inputs, axis=0)


def _unary(p, inputs):
    x = inputs[0] * (p.scale or 1.0) + p.shift
    eps = p.epsilon or 1e-6
    functions = {
        p.SQRT: lambda: np.sqrt(x), p.RSQRT: lambda: 1 / np.sqrt(x + eps),
        p.INVERSE: lambda: 1 / (x + eps), p.POWER: lambda: x ** p.alpha,
        p.EXP: lambda: np.exp(x), p.LOG: lambda: np.log(x + eps), p.ABS: lambda: np.abs(x),
        p.THRESHOLD: lambda: np.maximum(x, p.alpha),
    }
    return functions[p.type]()


def _broadcast_param(params, shape) -> np.ndarray:
    """A scale/bias/constant of CHW ``shape`` ((1,), (C,), (1, H, W) or (C, H, W)) as (C, H, W)."""
    values = weights(params, int(np.prod(shape)), int(shape[0]))
    return values.reshape((*shape, 1, 1) if len(shape) == 1 else tuple(shape))


def _scale(p, inputs):
    out = inputs[0] * _broadcast_param(p.scale, list(p.shapeScale))
    return out + _broadcast_param(p.bias, list(p.shapeBias)) if p.hasBias else out


def _bias(p, inputs):
    return inputs[0] + _broadcast_param(p.bias, list(p.shape))


def _load_constant(p, inputs):
    return _broadcast_param(p.data, list(p.shape))


def _load_constant_nd(p, inputs):
    values = weights(p.data, int(np.prod(p.shape)))
    return values.reshape(list(p.shape)) if len(p.shape) > 1 else values.reshape(-1, 1, 1)


def _reorganize(p, inputs):
    """Block moves between space and channels (examples in NeuralNetwork.proto).

    DEPTH_TO_SPACE reads output channel c at block offset (i, j) from input channel
    (i * b + j) * C_out + c; PIXEL_SHUFFLE (PyTorch order) from c * b * b + i * b + j.
    SPACE_TO_DEPTH is the inverse of DEPTH_TO_SPACE.
    """
    x, b = inputs[0], p.blockSize
    c, h, w = x.shape
    if p.mode == p.SPACE_TO_DEPTH:
        blocks = x.reshape(c, h // b, b, w // b, b).transpose(2, 4, 0, 1, 3)  # (i, j, c, H, W)
        return blocks.reshape(c * b * b, h // b, w // b)
    c_out = c // (b * b)
    if p.mode == p.DEPTH_TO_SPACE:
        blocks = x.reshape(b, b, c_out, h, w).transpose(2, 3, 0, 4, 1)  # (c, H, i, W, j)
    else:
        blocks = x.reshape(c_out, b, b, h, w).transpose(0, 3, 1, 4, 2)
    return blocks.reshape(c_out, h * b, w * b)


LAYERS: dict[str, Callable] = {
    "convolution": _conv,
    "batchnorm": _batchnorm,
    "activation": _activation,
    "add": _elementwise(np.add, 0.0),
    "multiply": _elementwise(np.multiply, 1.0),
    "upsample": _upsample,
    "padding": _padding,
    "crop": _crop,
    "concat": _concat,
    "unary": _unary,
    "scale": _scale,
    "bias": _bias,
    "loadConstant": _load_constant,
    "loadConstantND": _load_constant_nd,
    "reorganizeData": _reorganize,
}
