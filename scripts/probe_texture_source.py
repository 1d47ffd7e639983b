"""Research probe (session 25, docs/strokes/README.md "Great Wave: a texture source"): give the
network a source of texture it can place strokes by where the photo is flat, then run Great
Wave's patch stage with the shipped recipe's losses and score the result on the issue's 20 test
and 20 validation photos.

Why: where a photo is a smooth gradient, the teacher's strokes cannot be predicted from the
input, so the student paints their mean, a flat wash, while the peer fills every sky with
texture (docs/strokes, sessions 16 and 24). Two sources, four channels each, enter the stem conv
through a conv of their own (random init; the rest of the network as trained):

- ``contour``: sin and cos of the photo's luma at periods of 16 and 40 grey levels, tied to
  the scene (contour lines that move with it);
- ``noise``: a fixed hash noise of the pixel coordinates, a pattern the scene moves behind.

The engine does not build these networks yet: this script owns the variant, its training loop
(the patch stage from the recipe's seed-2 checkpoint at step 4000, or from scratch with
``--scratch``) and the scoring, for which it lets the runtime load the extra operators.

    python scripts/probe_texture_source.py noise runs/probe/noise --start runs/step4000.pt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn
from validate_judge import DATA, PHOTOS, painting_of, validation_photos

from engine.export.to_onnx import export_onnx
from engine.io import model_files, paths
from engine.io.model_files import load_network
from engine.models.config import ModelConfig, net_preset
from engine.models.transformer import TransformerNet
from engine.training.checkpoint import load_checkpoint
from engine.training.data import ContentPhotos
from engine.training.evaluate import evaluate_models
from engine.training.library import Recipe
from engine.training.objectives import TeacherObjective
from engine.training.pairs import pair_side
from engine.training.trainer import load_painting, lr_at

SOURCE_CHANNELS = 4
CONTOUR_PERIODS = (16.0, 40.0)  # grey levels of luma per contour cycle
RECIPE = paths.bundled_styles_dir() / "recipes" / "great-wave.toml"


class TextureSourceNet(TransformerNet):
    """The default network plus a texture source added to its stem conv's output."""

    def __init__(self, config: ModelConfig, source: str):
        super().__init__(config)
        self.source_kind = source
        stem = self.encoder[0][0]
        self.source = nn.Conv2d(SOURCE_CHANNELS, stem.out_channels, stem.kernel_size,
                                stem.stride, stem.padding, bias=False)
        nn.init.normal_(self.source.weight, std=0.05)  # zero would leave it at a saddle

    def texture(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 4, H, W) in -1..1 from 0..255 RGB."""
        if self.source_kind == "contour":
            luma = 0.299 * image[:, :1] + 0.587 * image[:, 1:2] + 0.114 * image[:, 2:]
            phases = [2 * torch.pi * luma / period for period in CONTOUR_PERIODS]
            return torch.cat([f(p) for p in phases for f in (torch.sin, torch.cos)], 1)
        ones = torch.ones_like(image[:, :1])
        y, x = ones.cumsum(2) - 1, ones.cumsum(3) - 1  # pixel coordinates, export-friendly
        offsets = torch.arange(SOURCE_CHANNELS, dtype=image.dtype).view(1, -1, 1, 1) * 17.31
        # the classic shader hash; chaotic in float32, so ONNX Runtime draws another
        # realisation of the same noise than torch (the look depends on its statistics only)
        v = torch.sin((x * 12.9898 + y * 78.233 + offsets) % 6283.0) * 43758.5453
        return (v - torch.floor(v)) * 2 - 1

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        m = self.margin
        if m:
            image = nn.functional.pad(image, (m, m, m, m), mode="replicate")
        conv, norm, relu = self.encoder[0]
        x = relu(norm(conv(image / 127.5 - 1.0) + self.source(self.texture(image))))
        x = self.decoder(self.residuals(self.encoder[1:](x)))
        out = (torch.tanh(x) + 1.0) * 127.5
        return out[:, :, m:-m, m:-m] if m else out


def train(source: str, run_dir: Path, start: Path, scratch: bool) -> Path:
    """The recipe's training (from ``start``'s step, or all of it) with the source; its ONNX."""
    torch.set_num_threads(1)
    recipe = Recipe.load(RECIPE, DATA / "styles")
    cfg = recipe.config
    data = ContentPhotos(paths.bundled_photos_dir(), pair_side(cfg.stroke_size))
    objective = TeacherObjective(cfg, load_painting(recipe.painting), data, run_dir,
                                 torch.device("cpu"))
    torch.manual_seed(cfg.seed)
    net = TextureSourceNet(net_preset(cfg.net), source)
    base = torch.optim.Adam([p for n, p in net.named_parameters() if n != "source.weight"])
    extra = torch.optim.Adam([net.source.weight])  # no Adam state to resume for it
    state, first = load_checkpoint(start), 0
    if not scratch:
        missing = net.load_state_dict(state["model"], strict=False).missing_keys
        assert missing == ["source.weight"], missing
        base.load_state_dict(state["optimizer"])
        first = int(state["step"])
    last = time.monotonic()
    for step in range(first, cfg.steps):
        for group in (*base.param_groups, *extra.param_groups):
            group["lr"] = lr_at(cfg, step)
        inputs, targets = objective.batch(step, None)
        total = sum(objective.losses(net(inputs), inputs, targets, step).values())
        base.zero_grad(), extra.zero_grad()
        total.backward()
        base.step(), extra.step()
        if time.monotonic() - last > 60:
            last = time.monotonic()
            print(f"step {step}/{cfg.steps} loss {total.item():.3f} source weights "
                  f"{net.source.weight.abs().mean().item():.4f}", flush=True)
    _, card = load_network(start)
    return export_onnx(net.eval(), card, run_dir / f"great-wave-{source}.onnx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", choices=("contour", "noise"))
    parser.add_argument("run_dir", type=Path, help="holds the recipe's teacher-pairs.npz")
    parser.add_argument("--start", type=Path, required=True,
                        help="the recipe's checkpoint at the patch stage's start (step 4000)")
    parser.add_argument("--scratch", action="store_true",
                        help="train every step with the source (--start gives only the card)")
    args = parser.parse_args()
    model = train(args.source, args.run_dir, args.start, args.scratch)
    model_files.ALLOWED_OPS |= {"Sin", "Cos", "CumSum", "Mod", "Floor"}  # the probe's graph
    for name, photos in (("test", [DATA / "content" / f"{p}.jpg" for p in PHOTOS]),
                         ("validation", validation_photos(20))):
        (result,) = evaluate_models([model], photos, painting_of("great-wave"), size=384)
        print(f"{name}: judge {result.style_distance:.4f} SSIM {result.ssim:.2f}", flush=True)


if __name__ == "__main__":
    main()
