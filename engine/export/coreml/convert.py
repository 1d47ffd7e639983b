"""Our ONNX model or checkpoint -> Core ML, image in (``image``) and image out (``stylizedImage``).

Two formats:
- ``mlmodel``: the classic neuralnetwork spec, iOS 12+ when every layer allows it (flexible image
  sizes and 8-bit weights both need iOS 12). It is converted from the torch network by
  coremltools, then tidied at spec level (``engine.export.coreml.spec``): the input scaling is
  folded into the image preprocessing, chains of scalar-affine layers are merged, blobs get short
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
from pathlib import Path

import engine
from engine.card import ModelCard
from engine.errors import ExportError, StudioError
from engine.export.coreml import spec as coreml_spec
from engine.export.coreml.sizes import SizeRange
from engine.export.coreml.spec import INPUT_NAME, OUTPUT_NAME
from engine.io.files import atomic_dir, atomic_path
from engine.progress import Progress, no_progress

log = logging.getLogger(__name__)

FORMATS = ("mlmodel", "mlpackage")
BITS = (8, 16, 32)
TRACE_SIZE = 64  # px; the traced example input (the converted graph is size-agnostic)

def export_coreml(
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    fmt: str = "mlmodel",
    bits: int = 8,
    sizes: SizeRange = SizeRange(),  # noqa: B008 (frozen, so sharing the default is safe)
    progress: Progress = no_progress,
) -> Path:
    """Export one of our models (ONNX with card, or checkpoint) to Core ML at ``out_path``.

    Atomic: nothing appears at ``out_path`` unless the export succeeds. Returns ``out_path``.
    """
    from engine.io.model_files import load_network

    progress(0.0, "loading the model")
    net, card = load_network(model_path)
    return convert_network(net, card, out_path, fmt=fmt, bits=bits, sizes=sizes, progress=progress)


def convert_network(
    net, card: ModelCard, out_path: str | os.PathLike, *, fmt: str = "mlmodel", bits: int = 8,
    sizes: SizeRange = SizeRange(),  # noqa: B008
    progress: Progress = no_progress,
) -> Path:
    """Convert a ``TransformerNet`` (0..255 in and out) with its card; see ``export_coreml``."""
    out_path = Path(out_path)
    _check_options(out_path, fmt, bits)
    sizes.check(net.config.size_multiple, out_path)
    card = dataclasses.replace(card, size_multiple=net.config.size_multiple,
                               model_config=card.model_config or net.config.to_dict(),
                               min_runtimes="")  # the ONNX file's runtimes, not Core ML's
    progress(0.1, "converting with coremltools")
    if fmt == "mlmodel":
        spec = _neuralnetwork_spec(net, sizes, bits, out_path, progress)
        progress(0.8, "writing the model")
        _describe(spec, card, sizes)
        with atomic_path(out_path) as tmp:
            _quiet(lambda: _save_spec(spec, tmp))
    else:
        model = _mlprogram(net, sizes, bits, out_path)
        progress(0.8, "writing the package")
        _describe(model._spec, card, sizes)
        with atomic_dir(out_path) as tmp:
            _quiet(lambda: model.save(str(tmp)))
    log.info("exported %s (%d bytes)", out_path, file_size(out_path))
    progress(1.0, "done")
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


def _neuralnetwork_spec(net, sizes: SizeRange, bits: int, out_path: Path,
                        progress: Progress):
    """A tidied, quantised neuralnetwork spec with image input and output.

    ``progress`` is called between the slow steps (each a few seconds), so a cancel lands soon.
    """
    import coremltools as ct

    model = _convert(net, sizes, out_path, flexible=False, convert_to="neuralnetwork",
                     outputs=[ct.TensorType(name=OUTPUT_NAME)])
    progress(0.5, "tidying the Core ML layers")
    spec = model.get_spec()
    coreml_spec.tidy(spec, net.margin, out_path)
    if bits < 32:
        progress(0.6, f"quantising the weights to {bits} bits")
        coreml_spec.pack_two_valued_weights(spec)
        spec = _quantized(spec, bits)
    coreml_spec.finish(spec, sizes)
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
