"""Two-stream networks: spatial and temporal 2D streams, late fusion, convolutional fusion, residual links.

* Simonyan & Zisserman 2014 (NeurIPS): a spatial ConvNet on single RGB frames and a temporal
  ConvNet on a stack of ``L`` optical-flow fields (``2L`` input channels, order x1, y1, x2, y2, ...),
  fused late by averaging their softmax scores (or a linear layer on the stacked scores).
* Wang et al. 2015 ("Good practices"): deeper backbones and cross-modality initialisation of the
  temporal stream's first conv from RGB weights.
* Feichtenhofer et al. 2016 (CVPR): convolutional fusion of the last conv maps (concatenate,
  1x1 conv), then a 3D conv and pooling over the ``T`` sampled frames.
* Feichtenhofer et al. 2016 (NeurIPS, ST-ResNet): residual links from the motion stream into the
  appearance stream's residual units, and temporal 3x1x1 convolutions initialised to the identity.

Inputs follow the vidzoo contract: ``rgb`` ``(B, 3, T, H, W)`` and ``flow`` ``(B, 2, T*L, H, W)``
(``T`` stacks of ``L`` fields). Fused models take ``{"rgb": ..., "flow": ...}``. Every model
returns ``(B, num_classes)``; score-averaging models return log-probabilities, which are valid
logits (``softmax`` of them gives back the averaged probabilities).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torchvision.models.resnet import BasicBlock, Bottleneck

from vidzoo.models._input_checks import check_clip
from vidzoo.models._stream_backbones import (
    BACKBONES,
    ResNetBackbone,
    backbone_features,
    build_backbone,
    load_backbone_weights,
    read_state_dict,
)
from vidzoo.models.registry import register_model

_PAPER_2S = "Simonyan & Zisserman 2014, NeurIPS"
_PAPER_CONV = "Feichtenhofer, Pinz & Zisserman 2016, CVPR"
_PAPER_RES = "Feichtenhofer, Pinz & Wildes 2016, NeurIPS"


def flow_to_stacks(flow: Tensor, flow_length: int) -> Tensor:
    """``(B, 2, S*L, H, W)`` -> ``(B*S, 2L, H, W)``, channels ordered x1, y1, x2, y2, ..."""
    b, c, n, h, w = flow.shape
    if n % flow_length:
        raise ValueError(
            f"flow clip has {n} fields, not a multiple of flow_length={flow_length}; set data.flow_length "
            "to the model's flow_length"
        )
    s = n // flow_length
    return flow.view(b, c, s, flow_length, h, w).permute(0, 2, 3, 1, 4, 5).reshape(b * s, flow_length * c, h, w)


def frames_to_batch(rgb: Tensor) -> Tensor:
    """``(B, 3, T, H, W)`` -> ``(B*T, 3, H, W)``."""
    b, c, t, h, w = rgb.shape
    return rgb.transpose(1, 2).reshape(b * t, c, h, w)


def average_softmax(logits: Sequence[Tensor], weights: Sequence[float]) -> Tensor:
    """Log of the weighted mean of softmax scores: late fusion by averaging, as log-probabilities."""
    total = float(sum(weights))
    probs = sum(w / total * F.softmax(x.float(), dim=-1) for w, x in zip(weights, logits))
    return torch.log(probs.clamp_min(1e-12))


def _check_dict(inputs: object, model: str) -> tuple[Tensor, Tensor]:
    if not isinstance(inputs, dict) or "rgb" not in inputs or "flow" not in inputs:
        raise ValueError(f"{model}: expected a dict {{'rgb': (B,3,T,H,W), 'flow': (B,2,T*L,H,W)}}; set data.modality=rgb+flow")
    check_clip(inputs["rgb"], 3, model)
    check_clip(inputs["flow"], 2, model)
    return inputs["rgb"], inputs["flow"]


def _paired_frames_and_stacks(inputs: object, temporal: nn.Module, model: str) -> tuple[Tensor, Tensor, int, int]:
    """Check a fused net's dict input; return ``(rgb, flow stacks as images, B, T)`` with one stack per RGB frame."""
    rgb, flow = _check_dict(inputs, model)
    b, t = rgb.shape[0], rgb.shape[2]
    stacks, s = temporal.to_images(flow)
    if s != t:
        raise ValueError(f"{model}: {t} RGB frames but {s} flow stacks; they must pair up (data.num_frames)")
    return rgb, stacks, b, t


def _load_stream(stream: nn.Module, path: str | None) -> None:
    """Load a saved stream model (e.g. a trained ``two_stream_temporal`` checkpoint) into ``stream``."""
    if not path:
        return
    state = read_state_dict(path)
    try:
        stream.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"{path}: does not fit this stream ({str(exc).splitlines()[0]}); pass a checkpoint of the same "
            "stream model (backbone, flow_length, num_classes)"
        ) from None


class StreamNet(nn.Module):
    """One stream: a 2D backbone applied per frame (``rgb``) or per flow stack (``flow``), scores averaged.

    rgb: ``(B, 3, T, H, W)`` -> backbone on each of the ``T`` frames. flow: ``(B, 2, S*L, H, W)`` ->
    backbone on each of the ``S`` stacks of ``2L`` channels. Logits are averaged over frames/stacks.
    ``mean_flow_subtraction`` subtracts each field's mean displacement first (Simonyan & Zisserman's
    camera-motion compensation; on by default for the full-size models, off for the CPU ones, whose
    synthetic classes are camera motions).
    """

    def __init__(
        self,
        modality: str,
        num_classes: int,
        backbone: str = "cnn_m_2048",
        flow_length: int = 10,
        dropout: float = 0.5,
        backbone_weights: str | None = None,
        mean_flow_subtraction: bool = False,
    ) -> None:
        super().__init__()
        if modality not in ("rgb", "flow"):
            raise ValueError(f"stream modality must be 'rgb' or 'flow', got {modality!r}")
        self.modality, self.flow_length = modality, flow_length
        self.mean_flow_subtraction = mean_flow_subtraction
        in_channels = 3 if modality == "rgb" else 2 * flow_length
        self.backbone = build_backbone(backbone, in_channels, num_classes, dropout, temporal=modality == "flow")
        if backbone_weights:
            load_backbone_weights(self.backbone, backbone_weights)

    def to_images(self, x: Tensor) -> tuple[Tensor, int]:
        """Clip -> batch of 2D inputs ``(B*N, C, H, W)`` and ``N`` (frames or stacks per clip)."""
        if self.modality == "rgb":
            check_clip(x, 3, "two-stream spatial stream")
            return frames_to_batch(x), x.shape[2]
        check_clip(x, 2, "two-stream temporal stream", min_frames=self.flow_length)
        if self.mean_flow_subtraction:
            x = x - x.mean(dim=(-2, -1), keepdim=True)
        return flow_to_stacks(x, self.flow_length), x.shape[2] // self.flow_length

    def forward(self, x: Tensor) -> Tensor:
        images, n = self.to_images(x)
        logits = self.backbone(images)
        return logits.view(x.shape[0], n, -1).mean(dim=1)


class TwoStreamLate(nn.Module):
    """Late fusion of a spatial and a temporal stream.

    ``fusion="average"``: log of the weighted mean of the two softmax scores (``weights`` =
    spatial, temporal). ``fusion="linear"``: a linear (multinomial logistic) layer on the stacked
    softmax scores, initialised to the weighted average. ``freeze_streams`` trains only that layer,
    as the paper trains its SVM on fixed stream scores.
    """

    def __init__(
        self,
        spatial: StreamNet,
        temporal: StreamNet,
        num_classes: int,
        fusion: str = "average",
        weights: Sequence[float] = (1.0, 1.0),
        freeze_streams: bool = False,
    ) -> None:
        super().__init__()
        if fusion not in ("average", "linear"):
            raise ValueError(f"fusion must be 'average' or 'linear', got {fusion!r}")
        self.spatial, self.temporal, self.fusion = spatial, temporal, fusion
        self.weights = tuple(float(w) for w in weights)
        if fusion == "linear":
            self.fuse = nn.Linear(2 * num_classes, num_classes)
            with torch.no_grad():
                eye = torch.eye(num_classes)
                total = sum(self.weights)
                self.fuse.weight.copy_(torch.cat([self.weights[0] / total * eye, self.weights[1] / total * eye], 1))
                self.fuse.bias.zero_()
        if freeze_streams:
            for p in [*spatial.parameters(), *temporal.parameters()]:
                p.requires_grad_(False)

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        rgb, flow = _check_dict(inputs, "two_stream_late")
        s, t = self.spatial(rgb), self.temporal(flow)
        if self.fusion == "average":
            return average_softmax([s, t], self.weights)
        return self.fuse(torch.cat([F.softmax(s, -1), F.softmax(t, -1)], dim=-1))


class TwoStreamConvFusion(nn.Module):
    """Convolutional fusion (Feichtenhofer et al. 2016): both streams' last conv maps (after ReLU) are
    concatenated and mixed by a 1x1 conv initialised to their sum; over the ``T`` frames a 3x3x3 conv
    (initialised to the identity) and max pooling over time follow, then the spatial network's own
    tower (pool5 + fully connected layers) classifies the fused map. With ``keep_temporal_tower`` the
    temporal network's tower also scores its conv5 map and the output averages both softmax scores.

    rgb ``(B, 3, T, H, W)`` with flow ``(B, 2, T*L, H, W)``: frame ``t`` is fused with flow stack ``t``.
    """

    def __init__(
        self, spatial: StreamNet, temporal: StreamNet, num_classes: int, fusion_3d: bool = True,
        keep_temporal_tower: bool = True,
    ) -> None:
        super().__init__()
        self.spatial, self.temporal = spatial, temporal
        c = spatial.backbone.out_channels
        self.fuse = nn.Conv2d(2 * c, c, 1)
        with torch.no_grad():
            eye = torch.eye(c)[:, :, None, None]
            self.fuse.weight.copy_(torch.cat([eye, eye], dim=1))
            self.fuse.bias.zero_()
        self.fuse_3d = nn.Conv3d(c, c, 3, padding=1) if fusion_3d else None
        if self.fuse_3d is not None:
            with torch.no_grad():
                self.fuse_3d.weight.zero_()
                self.fuse_3d.weight[:, :, 1, 1, 1] = torch.eye(c)
                self.fuse_3d.bias.zero_()
        self.keep_temporal_tower = keep_temporal_tower

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        rgb, stacks, b, t = _paired_frames_and_stacks(inputs, self.temporal, "two_stream_conv")
        fs = backbone_features(self.spatial.backbone)(frames_to_batch(rgb))
        ft = backbone_features(self.temporal.backbone)(stacks)
        fused = F.relu(self.fuse(torch.cat([fs, ft], dim=1)))
        _, c, h, w = fused.shape
        if self.fuse_3d is not None:
            fused = F.relu(self.fuse_3d(fused.view(b, t, c, h, w).transpose(1, 2)))
            fused = fused.amax(dim=2)  # 3D pooling: max over time (spatial pooling is in the head)
        else:
            fused = fused.view(b, t, c, h, w).amax(dim=1)
        logits = self.spatial.backbone.head(fused)
        if not self.keep_temporal_tower:
            return logits
        temporal_logits = self.temporal.backbone.head(ft).view(b, t, -1).mean(dim=1)
        return average_softmax([logits, temporal_logits], (1.0, 1.0))


class TemporalConv(nn.Module):
    """A 3x1x1 convolution over the frames of ``(B*T, C, H, W)`` maps, initialised to the identity
    (centre tap = identity matrix, neighbours 0), so a new net starts equal to per-frame 2D streams."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0), bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[:, :, 1, 0, 0] = torch.eye(channels)

    def forward(self, x: Tensor, frames: int) -> Tensor:
        bt, c, h, w = x.shape
        y = self.conv(x.view(bt // frames, frames, c, h, w).transpose(1, 2))
        return y.transpose(1, 2).reshape(bt, c, h, w)


def _residual_branch(block: nn.Module, x: Tensor) -> Tensor:
    """The residual function F(x) of a torchvision BasicBlock/Bottleneck (without the skip and final ReLU)."""
    out = block.relu(block.bn1(block.conv1(x)))
    if isinstance(block, Bottleneck):
        out = block.relu(block.bn2(block.conv2(out)))
        return block.bn3(block.conv3(out))
    if isinstance(block, BasicBlock):
        return block.bn2(block.conv2(out))
    raise TypeError(f"unsupported residual block {type(block).__name__}")


def _block_with_injection(block: nn.Module, x: Tensor, injected: Tensor | None) -> Tensor:
    """``relu(skip(x) + F(x + injected))``: the motion signal enters the residual path only (ST-ResNet)."""
    skip = block.downsample(x) if block.downsample is not None else x
    return block.relu(skip + _residual_branch(block, x if injected is None else x + injected))


class TwoStreamResidual(nn.Module):
    """Spatiotemporal residual two-stream network (ST-ResNet) on ResNet streams.

    At the first residual unit of every stage, the motion stream's input map passes through a
    1x1 conv (``link_init="zero"``: starts at 0, so the initial net equals the two separate streams;
    ``"identity"``: the paper's direct additive link) and is added to the appearance stream's residual
    path. After every stage in ``temporal_stages`` (1-based) each stream applies a
    :class:`TemporalConv` across its ``T`` frames. Scores: per-stream head averaged over frames, then
    late fusion by averaging softmax scores.
    """

    def __init__(
        self,
        spatial: StreamNet,
        temporal: StreamNet,
        link_init: str = "zero",
        temporal_stages: Sequence[int] = (2, 3, 4),
    ) -> None:
        super().__init__()
        for stream in (spatial, temporal):
            if not isinstance(stream.backbone, ResNetBackbone):
                raise ValueError(f"two_stream_residual needs ResNet backbones (resnet18, resnet50, small), got "
                                 f"{type(stream.backbone).__name__}")
        if link_init not in ("zero", "identity"):
            raise ValueError(f"link_init must be 'zero' or 'identity', got {link_init!r}")
        self.spatial, self.temporal = spatial, temporal
        widths = [stage[0].conv1.in_channels for stage in spatial.backbone.stages]
        self.links = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for c in widths)
        with torch.no_grad():
            for link, c in zip(self.links, widths):
                link.weight.copy_(torch.eye(c)[:, :, None, None] if link_init == "identity" else torch.zeros(c, c, 1, 1))
        outs = [stage[-1].bn2.num_features if isinstance(stage[-1], BasicBlock) else stage[-1].bn3.num_features
                for stage in spatial.backbone.stages]
        self.temporal_stages = tuple(int(s) for s in temporal_stages)
        if any(not 1 <= s <= 4 for s in self.temporal_stages):
            raise ValueError(f"temporal_stages must be within 1..4, got {self.temporal_stages}")
        self.temporal_convs = nn.ModuleDict(
            {f"{name}{s}": TemporalConv(outs[s - 1]) for s in self.temporal_stages for name in ("spatial", "temporal")}
        )

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        rgb, stacks, b, t = _paired_frames_and_stacks(inputs, self.temporal, "two_stream_residual")
        sb, tb = self.spatial.backbone, self.temporal.backbone
        xa, xm = sb.stem(frames_to_batch(rgb)), tb.stem(stacks)
        for k, (stage_a, stage_m, link) in enumerate(zip(sb.stages, tb.stages, self.links), start=1):
            injected = link(xm)
            xa = _block_with_injection(stage_a[0], xa, injected)
            for block in stage_a[1:]:
                xa = block(xa)
            xm = stage_m(xm)
            if k in self.temporal_stages:
                xa = self.temporal_convs[f"spatial{k}"](xa, t)
                xm = self.temporal_convs[f"temporal{k}"](xm, t)
        sa = sb.head(xa).view(b, t, -1).mean(dim=1)
        sm = tb.head(xm).view(b, t, -1).mean(dim=1)
        return average_softmax([sa, sm], (1.0, 1.0))


# ---------------------------------------------------------------------------------------------- builders


def _streams(num_classes: int, backbone: str, flow_length: int, dropout: float, backbone_weights: str | None,
             spatial_weights: str | None, temporal_weights: str | None,
             mean_flow_subtraction: bool) -> tuple[StreamNet, StreamNet]:
    if backbone not in BACKBONES:
        raise ValueError(f"unknown two-stream backbone {backbone!r}; choose one of: {', '.join(BACKBONES)}")
    if backbone_weights and not Path(backbone_weights).expanduser().exists():
        read_state_dict(backbone_weights)  # raises the clear "not found" error
    spatial = StreamNet("rgb", num_classes, backbone, flow_length, dropout, backbone_weights)
    temporal = StreamNet("flow", num_classes, backbone, flow_length, dropout, backbone_weights, mean_flow_subtraction)
    _load_stream(spatial, spatial_weights)
    _load_stream(temporal, temporal_weights)
    return spatial, temporal



@register_model("two_stream_spatial", input_shape=(3, 1, 224, 224), inputs=("rgb",), family="Two-Stream", paper=_PAPER_2S)
def two_stream_spatial(num_classes: int = 101, backbone: str = "cnn_m_2048", dropout: float = 0.5,
                       backbone_weights: str | None = None) -> nn.Module:
    """Spatial stream: a 2D ConvNet on single RGB frames ``(B, 3, T, H, W)`` (scores averaged over T).
    ``backbone``: cnn_m_2048 | resnet18 | resnet50 | vgg16. ``backbone_weights``: a local ImageNet checkpoint."""
    return StreamNet("rgb", num_classes, backbone, 1, dropout, backbone_weights)


@register_model("two_stream_spatial_small", input_shape=(3, 1, 56, 56), inputs=("rgb",), family="Two-Stream", paper=_PAPER_2S)
def two_stream_spatial_small(num_classes: int = 9, dropout: float = 0.5) -> nn.Module:
    """CPU spatial stream (small ResNet)."""
    return StreamNet("rgb", num_classes, "small", 1, dropout)


@register_model("two_stream_temporal", input_shape=(2, 10, 224, 224), inputs=("flow",), family="Two-Stream", paper=_PAPER_2S)
def two_stream_temporal(num_classes: int = 101, backbone: str = "cnn_m_2048", flow_length: int = 10,
                        dropout: float = 0.5, backbone_weights: str | None = None,
                        mean_flow_subtraction: bool = True) -> nn.Module:
    """Temporal stream: a 2D ConvNet on a stack of L flow fields ``(B, 2, L, H, W)`` seen as 2L channels.
    ``backbone_weights``: a local RGB ImageNet checkpoint, first conv converted by cross-modality init."""
    return StreamNet("flow", num_classes, backbone, flow_length, dropout, backbone_weights, mean_flow_subtraction)


@register_model("two_stream_temporal_small", input_shape=(2, 5, 56, 56), inputs=("flow",), family="Two-Stream", paper=_PAPER_2S)
def two_stream_temporal_small(num_classes: int = 9, flow_length: int = 5, dropout: float = 0.5,
                              mean_flow_subtraction: bool = False) -> nn.Module:
    """CPU temporal stream (small ResNet)."""
    return StreamNet("flow", num_classes, "small", flow_length, dropout, None, mean_flow_subtraction)


@register_model("two_stream_late", input_shape=(3, 1, 224, 224), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER_2S, flow_shape=(2, 10, 224, 224))
def two_stream_late(num_classes: int = 101, backbone: str = "cnn_m_2048", flow_length: int = 10, dropout: float = 0.5,
                    fusion: str = "average", fusion_weights: Sequence[float] = (1.0, 1.0), freeze_streams: bool = False,
                    backbone_weights: str | None = None, spatial_weights: str | None = None,
                    temporal_weights: str | None = None, mean_flow_subtraction: bool = True) -> nn.Module:
    """Two-stream ConvNet with late fusion (average of softmax scores, or a linear layer on them).
    ``spatial_weights``/``temporal_weights``: trained stream checkpoints (``model.safetensors``) to start from."""
    spatial, temporal = _streams(num_classes, backbone, flow_length, dropout, backbone_weights, spatial_weights,
                                 temporal_weights, mean_flow_subtraction)
    return TwoStreamLate(spatial, temporal, num_classes, fusion, fusion_weights, freeze_streams)


@register_model("two_stream_late_small", input_shape=(3, 1, 56, 56), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER_2S, flow_shape=(2, 5, 56, 56))
def two_stream_late_small(num_classes: int = 9, flow_length: int = 5, dropout: float = 0.5, fusion: str = "average",
                          fusion_weights: Sequence[float] = (1.0, 1.0), freeze_streams: bool = False,
                          spatial_weights: str | None = None, temporal_weights: str | None = None,
                          mean_flow_subtraction: bool = False) -> nn.Module:
    """CPU late-fusion two-stream net (small ResNet streams)."""
    spatial, temporal = _streams(num_classes, "small", flow_length, dropout, None, spatial_weights, temporal_weights,
                                 mean_flow_subtraction)
    return TwoStreamLate(spatial, temporal, num_classes, fusion, fusion_weights, freeze_streams)


@register_model("two_stream_conv", input_shape=(3, 5, 224, 224), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER_CONV, flow_shape=(2, 50, 224, 224))
def two_stream_conv(num_classes: int = 101, backbone: str = "vgg16", flow_length: int = 10, dropout: float = 0.5,
                    fusion_3d: bool = True, keep_temporal_tower: bool = True, backbone_weights: str | None = None,
                    spatial_weights: str | None = None, temporal_weights: str | None = None,
                    mean_flow_subtraction: bool = True) -> nn.Module:
    """Convolutional (+3D) fusion of two VGG-16 streams over T frames."""
    spatial, temporal = _streams(num_classes, backbone, flow_length, dropout, backbone_weights, spatial_weights,
                                 temporal_weights, mean_flow_subtraction)
    return TwoStreamConvFusion(spatial, temporal, num_classes, fusion_3d, keep_temporal_tower)


@register_model("two_stream_conv_small", input_shape=(3, 3, 56, 56), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER_CONV, flow_shape=(2, 15, 56, 56))
def two_stream_conv_small(num_classes: int = 9, flow_length: int = 5, dropout: float = 0.5, fusion_3d: bool = True,
                          keep_temporal_tower: bool = True, spatial_weights: str | None = None,
                          temporal_weights: str | None = None, mean_flow_subtraction: bool = False) -> nn.Module:
    """CPU convolutional-fusion two-stream net (small ResNet streams)."""
    spatial, temporal = _streams(num_classes, "small", flow_length, dropout, None, spatial_weights, temporal_weights,
                                 mean_flow_subtraction)
    return TwoStreamConvFusion(spatial, temporal, num_classes, fusion_3d, keep_temporal_tower)


@register_model("two_stream_residual", input_shape=(3, 5, 224, 224), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER_RES, flow_shape=(2, 50, 224, 224))
def two_stream_residual(num_classes: int = 101, backbone: str = "resnet50", flow_length: int = 10, dropout: float = 0.5,
                        link_init: str = "zero", temporal_stages: Sequence[int] = (2, 3, 4),
                        backbone_weights: str | None = None, spatial_weights: str | None = None,
                        temporal_weights: str | None = None, mean_flow_subtraction: bool = True) -> nn.Module:
    """ST-ResNet: ResNet-50 streams with motion-to-appearance residual links and identity-initialised temporal convs."""
    if backbone not in ("resnet18", "resnet50"):
        raise ValueError(f"two_stream_residual needs a ResNet backbone (resnet18 or resnet50), got {backbone!r}")
    spatial, temporal = _streams(num_classes, backbone, flow_length, dropout, backbone_weights, spatial_weights,
                                 temporal_weights, mean_flow_subtraction)
    return TwoStreamResidual(spatial, temporal, link_init, temporal_stages)


@register_model("two_stream_residual_small", input_shape=(3, 3, 56, 56), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER_RES, flow_shape=(2, 15, 56, 56))
def two_stream_residual_small(num_classes: int = 9, flow_length: int = 5, dropout: float = 0.5, link_init: str = "zero",
                              temporal_stages: Sequence[int] = (2, 3, 4), spatial_weights: str | None = None,
                              temporal_weights: str | None = None, mean_flow_subtraction: bool = False) -> nn.Module:
    """CPU ST-ResNet (small ResNet streams)."""
    spatial, temporal = _streams(num_classes, "small", flow_length, dropout, None, spatial_weights, temporal_weights,
                                 mean_flow_subtraction)
    return TwoStreamResidual(spatial, temporal, link_init, temporal_stages)
