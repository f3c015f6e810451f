"""Spatiotemporal residual two-stream network, ST-ResNet (Feichtenhofer, Pinz & Wildes 2016, NeurIPS).

Two ResNet streams (appearance on RGB frames, motion on flow stacks) with:

* **motion -> appearance links**: after the first unit of every stage, the motion stream's map is added,
  directly (no parameters), to the input of the residual function of the appearance stream's second unit
  (``x + F(x + x_motion)``); the skip path is left alone. Positions as in the authors'
  ``STResNet_stage1.m`` (fusion after res2a..res5a into res2b..res5b). ``link="conv"`` puts a
  zero-initialised 1x1 conv on each link instead (the net then starts as the two separate streams).
* **temporal filters**: in the second unit of every stage in ``temporal_stages``, in both streams, the
  residual function's 1x1 convs (Bottleneck conv1 and conv3; BasicBlock: its first 3x3 conv) become
  3-frame convs over the ``T`` frames. ``temporal_init="centre"`` (default): the 2D weights on the centre
  frame and 0 on the two neighbours, so each frame passes through time unchanged at the start;
  ``"average"``: the 2D weights / 3 on each of the three frames, as in ``STResNet_stage1.m``.

Each stream keeps its classifier and its loss (the motion logits are left in ``auxiliary_logits`` for the
trainer); at evaluation the model returns the mean of both streams' logits, averaged over frames.
The links need two units per stage: ``resnet18``/``resnet50`` streams, or ``small2`` for the CPU variant.
Not checked against the paper's text: its exact temporal-filter formula and whether the link adds to the
unit's pre- or post-ReLU map (the authors' script, as we read it, adds to the pre-ReLU sum; we follow the
paper's equation); MODEL_CARD.md lists these.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from vidzoo.models._stream_backbones import ResNetBackbone
from vidzoo.models.registry import register_model
from vidzoo.models.two_stream import StreamNet, Weights, build_streams, frames_to_batch, paired_frames_and_stacks

_PAPER = "Feichtenhofer, Pinz & Wildes 2016, NeurIPS"
LINKS = ("direct", "conv")
TEMPORAL_INITS = ("centre", "average")


class TimeConv(nn.Conv3d):
    """A 2D conv of a residual unit extended to 3 frames: ``(B*T, C, H, W)`` maps in, same layout out."""

    def __init__(self, conv: nn.Conv2d, init: str = "centre") -> None:
        if init not in TEMPORAL_INITS:
            raise ValueError(f"temporal_init must be one of {', '.join(TEMPORAL_INITS)}, got {init!r}")
        super().__init__(conv.in_channels, conv.out_channels, (3, *conv.kernel_size), stride=(1, *conv.stride),
                         padding=(1, *conv.padding), bias=conv.bias is not None)
        with torch.no_grad():
            w = conv.weight
            if init == "centre":
                self.weight.zero_()
                self.weight[:, :, 1] = w
            else:
                self.weight.copy_(w.unsqueeze(2).expand_as(self.weight) / 3)
            if conv.bias is not None:
                self.bias.copy_(conv.bias)

    def forward(self, x: Tensor, frames: int) -> Tensor:  # type: ignore[override]
        bt, c, h, w = x.shape
        y = super().forward(x.reshape(bt // frames, frames, c, h, w).transpose(1, 2))
        return y.transpose(1, 2).reshape(bt, *y.shape[1:2], *y.shape[3:])


def _conv(conv: nn.Module, x: Tensor, frames: int) -> Tensor:
    return conv(x, frames) if isinstance(conv, TimeConv) else conv(x)


def _residual(block: nn.Module, x: Tensor, frames: int) -> Tensor:
    """The residual function F(x) of a torchvision BasicBlock/Bottleneck (no skip, no final ReLU)."""
    out = block.relu(block.bn1(_conv(block.conv1, x, frames)))
    if isinstance(block, Bottleneck):
        out = block.relu(block.bn2(block.conv2(out)))
        return block.bn3(_conv(block.conv3, out, frames))
    return block.bn2(block.conv2(out))


def _unit(block: nn.Module, x: Tensor, frames: int, injected: Tensor | None = None) -> Tensor:
    """``relu(skip(x) + F(x + injected))``: a residual unit, the motion signal entering its residual path only."""
    skip = block.downsample(x) if block.downsample is not None else x
    return block.relu(skip + _residual(block, x if injected is None else x + injected, frames))


def _to_time(block: nn.Module, init: str) -> None:
    """Turn the unit's 1x1 convs (Bottleneck) or first 3x3 conv (BasicBlock) into :class:`TimeConv` s."""
    names = ("conv1", "conv3") if isinstance(block, Bottleneck) else ("conv1",)
    if not isinstance(block, (Bottleneck, BasicBlock)):
        raise TypeError(f"unsupported residual unit {type(block).__name__}")
    for name in names:
        setattr(block, name, TimeConv(getattr(block, name), init))


class TwoStreamResidual(nn.Module):
    """ST-ResNet on two ResNet :class:`StreamNet` s: ``{"rgb": (B,3,T,H,W), "flow": (B,2,T*L,H,W)}`` -> logits."""

    def __init__(self, spatial: StreamNet, temporal: StreamNet, link: str = "direct",
                 temporal_stages: Sequence[int] = (1, 2, 3, 4), temporal_init: str = "centre") -> None:
        super().__init__()
        for stream in (spatial, temporal):
            if not isinstance(stream.backbone, ResNetBackbone) or min(len(s) for s in stream.backbone.stages) < 2:
                raise ValueError("two_stream_residual needs ResNet streams with two or more units per stage "
                                 f"(resnet18, resnet50, small2), got {type(stream.backbone).__name__}")
        if link not in LINKS:
            raise ValueError(f"link must be one of {', '.join(LINKS)}, got {link!r}")
        self.temporal_stages = tuple(int(s) for s in temporal_stages)
        if any(not 1 <= s <= 4 for s in self.temporal_stages):
            raise ValueError(f"temporal_stages must be within 1..4, got {self.temporal_stages}")
        self.spatial, self.temporal = spatial, temporal
        widths = [_out_channels(stage[0]) for stage in spatial.backbone.stages]
        self.links = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for c in widths) if link == "conv" else None
        if self.links is not None:
            for conv in self.links:
                nn.init.zeros_(conv.weight)
        for stream in (spatial, temporal):
            for s in self.temporal_stages:
                _to_time(stream.backbone.stages[s - 1][1], temporal_init)
        self.auxiliary_logits: list[Tensor] = []

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        rgb, stacks, b, t = paired_frames_and_stacks(inputs, self.temporal, "two_stream_residual")
        sb, tb = self.spatial.backbone, self.temporal.backbone
        xa, xm = sb.stem(frames_to_batch(rgb)), tb.stem(stacks)
        for k, (stage_a, stage_m) in enumerate(zip(sb.stages, tb.stages)):
            xa, xm = _unit(stage_a[0], xa, t), _unit(stage_m[0], xm, t)
            link = xm if self.links is None else self.links[k](xm)
            xa = _unit(stage_a[1], xa, t, injected=link)
            xm = _unit(stage_m[1], xm, t)
            for block_a, block_m in zip(stage_a[2:], stage_m[2:]):
                xa, xm = _unit(block_a, xa, t), _unit(block_m, xm, t)
        appearance = sb.head(xa).view(b, t, -1).mean(dim=1)
        motion = tb.head(xm).view(b, t, -1).mean(dim=1)
        if self.training:
            self.auxiliary_logits = [motion]
            return appearance
        self.auxiliary_logits = []
        return (appearance + motion) / 2


def _out_channels(block: nn.Module) -> int:
    return block.bn3.num_features if isinstance(block, Bottleneck) else block.bn2.num_features


@register_model("two_stream_residual", input_shape=(3, 5, 224, 224), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER, flow_shape=(2, 50, 224, 224))
def two_stream_residual(num_classes: int = 101, backbone: str = "resnet50", flow_length: int = 10,
                        dropout: float = 0.5, link: str = "direct", temporal_stages: Sequence[int] = (1, 2, 3, 4),
                        temporal_init: str = "centre", backbone_weights: Weights | None = None,
                        spatial_weights: Weights | None = None, temporal_weights: Weights | None = None,
                        mean_flow_subtraction: bool = True) -> nn.Module:
    """ST-ResNet: ResNet-50 streams, direct additive motion->appearance links, 3-frame temporal filters."""
    if backbone not in ("resnet18", "resnet50"):
        raise ValueError(f"two_stream_residual needs a ResNet backbone (resnet18 or resnet50), got {backbone!r}")
    spatial, temporal = build_streams(num_classes, backbone, flow_length, dropout, backbone_weights, spatial_weights,
                                      temporal_weights, mean_flow_subtraction)
    return TwoStreamResidual(spatial, temporal, link, temporal_stages, temporal_init)


@register_model("two_stream_residual_small", input_shape=(3, 3, 56, 56), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER, flow_shape=(2, 15, 56, 56))
def two_stream_residual_small(num_classes: int = 9, flow_length: int = 5, dropout: float = 0.5, link: str = "direct",
                              temporal_stages: Sequence[int] = (1, 2, 3, 4), temporal_init: str = "centre",
                              spatial_weights: Weights | None = None, temporal_weights: Weights | None = None,
                              mean_flow_subtraction: bool = False) -> nn.Module:
    """CPU ST-ResNet (small ResNet streams with two units per stage)."""
    spatial, temporal = build_streams(num_classes, "small2", flow_length, dropout, None, spatial_weights,
                                      temporal_weights, mean_flow_subtraction)
    return TwoStreamResidual(spatial, temporal, link, temporal_stages, temporal_init)
