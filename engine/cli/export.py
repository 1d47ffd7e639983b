"""`tinystyle export`: a model to Core ML for iPhone (optionally as a ready-to-use bundle), or a
re-exported ONNX copy with its card."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from engine.errors import StudioError
from engine.export.coreml.ios_version import model_minimum_ios


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export a model to Core ML (iPhone) or ONNX",
        description="Export one of our models (.onnx, checkpoint or style name). Core ML default: "
                    "an 8-bit .mlmodel that accepts any size in a range. The minimum iOS depends "
                    "on the network's layers (the default network needs iOS 14); it is read "
                    "from the written file and printed.")
    p.add_argument("model", metavar="MODEL|STYLE")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--coreml", action="store_true", help="export to Core ML")
    target.add_argument("--onnx", action="store_true",
                        help="re-export the ONNX model with its card")
    p.add_argument("--format", dest="fmt", choices=("mlmodel", "mlpackage"), default="mlmodel",
                   help="mlmodel: neuralnetwork, iOS 12 to 14+ by layers (default); "
                        "mlpackage: ML program, iOS 16+")
    p.add_argument("--bits", type=int, choices=(8, 16, 32), default=8,
                   help="bits per weight (default 8)")
    p.add_argument("--size-range", metavar="MIN-MAX", default="256-1920",
                   help="accepted width and height in px (default 256-1920)")
    p.add_argument("--default-size", metavar="WxH", default="640x480",
                   help="the size Xcode shows and previews with (default 640x480)")
    p.add_argument("--bundle", action="store_true",
                   help="write a folder and zip for iOS developers: model, preview, README, card")
    p.add_argument("-o", "--output", type=Path,
                   help="output file (bundle: output folder; default: the current folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model = _model_path(args.model)
    if args.onnx:
        return _export_onnx(model, args.output)
    from engine.deps import require_training

    require_training("a Core ML export")
    sizes = parse_sizes(args.size_range, args.default_size)
    if args.bundle:
        from engine.export.coreml.ios_bundle import write_ios_bundle

        if args.fmt != "mlmodel" or args.bits != 8:
            raise StudioError("--bundle always holds the 8-bit .mlmodel",
                              hint="drop --format/--bits, or export without --bundle")
        folder = write_ios_bundle(model, args.output or Path("."), sizes=sizes)
        print(f"{folder}  (iOS {model_minimum_ios(folder)} or later)")
        print(folder.with_name(folder.name + ".zip"))
        return 0
    from engine.export.coreml.convert import export_coreml, file_size
    from engine.export.coreml.ios_bundle import class_name
    from engine.io.model_files import read_card

    out = args.output
    if out is None:
        card = read_card(model) if model.suffix.lower() == ".onnx" else None
        out = Path(f"{class_name(card) if card else model.stem}.{args.fmt}")
    path = export_coreml(model, out, fmt=args.fmt, bits=args.bits, sizes=sizes)
    print(f"{path}  ({file_size(path):,} bytes, iOS {model_minimum_ios(path)} or later)")
    return 0


def parse_sizes(size_range: str, default: str):
    """``'256-1920'`` and ``'640x480'`` -> SizeRange (checked later against the model)."""
    from engine.export.coreml.convert import SizeRange

    low_high = re.fullmatch(r"(\d+)-(\d+)", size_range.strip())
    if not low_high:
        raise StudioError(f"--size-range '{size_range}' is not MIN-MAX", hint="e.g. 256-1920")
    wh = re.fullmatch(r"(\d+)x(\d+)", default.strip().lower())
    if not wh:
        raise StudioError(f"--default-size '{default}' is not WxH", hint="e.g. 640x480")
    return SizeRange(int(low_high[1]), int(low_high[2]), (int(wh[1]), int(wh[2])))


def _model_path(target: str) -> Path:
    path = Path(target)
    if path.exists() or path.suffix or path.parent != Path("."):
        return path
    from engine.styles import find_style

    return find_style(target).path


def _export_onnx(model: Path, output: Path | None) -> int:
    from engine.export.to_onnx import export_onnx
    from engine.io.model_files import load_network

    if output is None:
        raise StudioError("--onnx needs an output file", hint="add -o NEW.onnx")
    if output.suffix.lower() != ".onnx":
        raise StudioError(f"{output}: an ONNX export needs the suffix .onnx")
    net, card = load_network(model)
    print(export_onnx(net, card, output))
    return 0
