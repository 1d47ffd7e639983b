"""Instant styles: any painting's style for our tiny network, without training it.

Conditional instance norm (Dumoulin et al. 2017; Ghiasi et al. 2017): many styles can share
one network's convolutions and differ only in the per-channel scale and shift of its
instance norms. The painting teacher's style predictor (``engine.training.teacher``) turns a
painting into a 100-d style vector; ``InstantModel`` holds one shared backbone (a
``TransformerNet``) and a linear map from that vector to every affine instance norm's
(scale, shift). ``instant_network(vector)`` is then a plain ``TransformerNet`` with those
norms filled in, so exports, Core ML and live speed are exactly those of a trained style.

Training batches mix styles, so the norms take per-sample parameters: ``StyledNorm`` (an
``InstanceNorm2d`` with the same parameters and state dict keys) normalizes a (B, C, H, W)
batch as one (1, B*C, H, W) instance, which is exactly what ``F.instance_norm`` does inside
with its weight repeated B times, so the conditional forward equals the plain one bit for bit.

Making a style from a painting does not need torch: ``save_instant_template`` exports the
backbone once as a template ONNX plus the map as arrays, and ``engine.training.instant_onnx``
fills the template's norms in per painting.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.errors import ExportError, ModelLoadError
from engine.io.files import atomic_path
from engine.models.config import DEFAULT_NET_PRESET, NET_PRESETS, ModelConfig, net_preset
from engine.models.transformer import TransformerNet
from engine.training.instant_onnx import (
    STYLE_DIM,
    TEMPLATE_NAME,
    StyleMap,
    error_summary,
    template_path,
)

FORMAT_VERSION = 1  # of the weights file written by ``save_instant``


class StyledNorm(nn.InstanceNorm2d):
    """An affine instance norm whose scale and shift can be set per sample for a forward.

    With ``scale``/``shift`` None it is the plain layer (its own parameters)."""

    scale: torch.Tensor | None = None  # (B, C) while a style batch runs
    shift: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale is None or self.shift is None:
            return super().forward(x)
        b, c = x.shape[:2]
        flat = x.reshape(1, b * c, *x.shape[2:])  # one instance of B*C channels, as torch does
        y = nn.functional.instance_norm(flat, weight=self.scale.reshape(-1),
                                        bias=self.shift.reshape(-1), eps=self.eps)
        return y.reshape(x.shape)


def affine_norms(net: nn.Module) -> list[nn.InstanceNorm2d]:
    """The affine instance norms of a network, in module order (the style map's layout)."""
    return [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d) and m.affine]


def _swap_norms(net: TransformerNet) -> None:
    """Replace every affine InstanceNorm2d by a StyledNorm (same parameters and keys)."""
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.InstanceNorm2d and child.affine:
                styled = StyledNorm(child.num_features, eps=child.eps, affine=True)
                styled.load_state_dict(child.state_dict())
                setattr(parent, name, styled)


class InstantModel(nn.Module):
    """Shared backbone + linear map from a style vector to every norm's (scale, shift).

    The vector is centred and scaled first (``center``, ``spread``: the training paintings'
    mean vector and typical deviation) so the map's weights start on a sensible scale.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.backbone = TransformerNet(config or net_preset(DEFAULT_NET_PRESET))
        _swap_norms(self.backbone)
        self.norms = affine_norms(self.backbone)  # a plain list: references, not submodules
        self.sizes = [n.num_features for n in self.norms]
        channels = sum(self.sizes)
        self.style_map = nn.Linear(STYLE_DIM, 2 * channels)  # -> [scales..., shifts...]
        nn.init.zeros_(self.style_map.weight)
        with torch.no_grad():  # start at the backbone's own norms for every style
            self.style_map.bias.copy_(torch.cat(self._backbone_norm_params()))
        self.register_buffer("center", torch.zeros(STYLE_DIM))
        self.register_buffer("spread", torch.ones(()))

    @property
    def preset(self) -> str:
        """The backbone's network preset name ("" if it matches none)."""
        return next((k for k, v in NET_PRESETS.items() if v == self.backbone.config), "")

    def _backbone_norm_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.cat([n.weight.detach() for n in self.norms]),
                torch.cat([n.bias.detach() for n in self.norms]))

    def norm_params(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 100) style vectors -> scales and shifts, (B, sum of channels) each."""
        params = self.style_map((vectors.reshape(-1, STYLE_DIM) - self.center) / self.spread)
        return params.chunk(2, dim=1)

    @contextlib.contextmanager
    def styled(self, vectors: torch.Tensor) -> Iterator[None]:
        """Within the block, the backbone's norms use each sample's parameters."""
        scales, shifts = self.norm_params(vectors)
        try:
            for norm, scale, shift in zip(self.norms, scales.split(self.sizes, 1),
                                          shifts.split(self.sizes, 1), strict=True):
                norm.scale, norm.shift = scale, shift
            yield
        finally:
            for norm in self.norms:
                norm.scale = norm.shift = None

    def forward(self, images: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """float (B, 3, H, W) 0..255 photos, (B, 100) style vectors -> stylized 0..255."""
        with self.styled(vectors):
            return self.backbone(images)

    def network(self, vector: np.ndarray | torch.Tensor) -> TransformerNet:
        """A plain TransformerNet for one style vector: the backbone with its norms set."""
        vector = torch.as_tensor(np.asarray(vector, np.float32)).reshape(1, STYLE_DIM)
        with torch.no_grad():
            scales, shifts = self.norm_params(vector)
        return self.plain_network(scales[0], shifts[0])

    def plain_network(self, scales: torch.Tensor, shifts: torch.Tensor) -> TransformerNet:
        """The backbone as a plain TransformerNet with these norm parameters, (sum C,) each."""
        net = TransformerNet(self.backbone.config)
        net.load_state_dict(self.backbone.state_dict())
        with torch.no_grad():
            for norm, scale, shift in zip(affine_norms(net), scales.split(self.sizes),
                                          shifts.split(self.sizes), strict=True):
                norm.weight.copy_(scale)
                norm.bias.copy_(shift)
        return net.eval()


def instant_network(style_vector: np.ndarray | torch.Tensor,
                    model: InstantModel | None = None) -> TransformerNet:
    """The style network for a teacher style vector (1, 100) (default: the shipped model)."""
    return (model or load_instant()).network(style_vector)


def shipped_weights() -> Path:
    """Where the trained predictor ships: resources/instant/ in the bundled resources."""
    from engine.io import paths

    return paths.resources_dir() / "instant" / "instant-fast-16-r5-zs.pt"


def save_instant(model: InstantModel, path: str | os.PathLike, **info: object) -> Path:
    """Write the small weights file (backbone, style map, config; ``info`` as provenance)."""
    path = Path(path)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    data = {"format_version": FORMAT_VERSION, "model_config": model.backbone.config.to_dict(),
            "state": state, "info": dict(info)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return path


def load_instant(path: str | os.PathLike | None = None) -> InstantModel:
    """Read a weights file written by ``save_instant`` (default: the shipped one)."""
    path = Path(path) if path is not None else shipped_weights()
    if not path.is_file():
        raise ModelLoadError(f"{path}: no instant style weights there",
                             hint="train them with scripts/train_instant.py")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {data.get('format_version')!r}, "
                             f"expected {FORMAT_VERSION}")
        model = InstantModel(ModelConfig.from_dict(data["model_config"]))
        model.load_state_dict(data["state"])
    except Exception as exc:  # pickle, zip, key and shape errors all mean "not our file"
        raise ModelLoadError(f"{path}: not an instant style weights file "
                             f"({error_summary(exc)})",
                             hint="train them with scripts/train_instant.py") from None
    return model.eval()


def save_instant_template(model: InstantModel, map_path: str | os.PathLike) -> Path:
    """Write what the torch-free path needs: the backbone as a template ONNX (through
    ``export_onnx``, as every style) beside ``map_path``, and the style map there as arrays
    naming each norm's scale and shift initialisers in the template.

    The template's norms hold marker values, distinct for every channel, so each norm's
    initialisers are found by value, whatever order and names the exporter gives them.
    """
    from engine.card import ModelCard
    from engine.export.to_onnx import export_onnx

    map_path = Path(map_path)
    channels = sum(model.sizes)
    markers = torch.arange(1, 2 * channels + 1, dtype=torch.float32) / 1024  # exact in float32
    scales, shifts = 1 + markers[:channels], -markers[channels:]
    card = ModelCard(name=TEMPLATE_NAME, preset=model.preset,
                     description="template of instant styles: each sets its norms' scales and "
                                 "shifts (engine.training.instant_onnx)")
    template = export_onnx(model.plain_network(scales, shifts), card, template_path(map_path))
    names = _norm_initialisers(template, scales.split(model.sizes), shifts.split(model.sizes))
    weight, bias = (p.detach().numpy() for p in (model.style_map.weight, model.style_map.bias))
    return StyleMap(center=model.center.numpy(), spread=model.spread.numpy(), weight=weight,
                    bias=bias, sizes=tuple(model.sizes), scale_names=names[0],
                    shift_names=names[1]).save(map_path)


def _norm_initialisers(path: Path, scales: tuple[torch.Tensor, ...],
                       shifts: tuple[torch.Tensor, ...]
                       ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names of the template's InstanceNormalization scale (input 1) and bias (input 2)
    initialisers holding each norm's marker values."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    norms = [node for node in graph.node if node.op_type == "InstanceNormalization"]

    def find(marker: torch.Tensor, slot: int) -> str:
        hits = [n.input[slot] for n in norms
                if n.input[slot] in values and np.array_equal(values[n.input[slot]], marker)]
        if len(hits) != 1:
            raise ExportError(f"{path}: {len(hits)} instance norms hold one norm's parameters, "
                              f"not 1: the template cannot be filled in")
        return hits[0]

    return (tuple(find(s.numpy(), 1) for s in scales), tuple(find(s.numpy(), 2) for s in shifts))
