"""Two-stream networks (Simonyan & Zisserman 2014): spatial and temporal 2D streams and their late fusion.

* Simonyan & Zisserman 2014 (NeurIPS): a spatial ConvNet on single RGB frames and a temporal
  ConvNet on a stack of ``L`` optical-flow fields (``2L`` input channels, order x1, y1, x2, y2, ...),
  fused late by averaging their softmax scores (or a linear layer on the stacked scores). The paper's
  dropout: 0.9 in the temporal net, 0.5 in the spatial net, which trains only its last layer on top of
  ImageNet weights (``freeze_backbone=True``; training all layers is the other option).
* Wang et al. 2015 ("Good practices"): deeper backbones and cross-modality initialisation of the
  temporal stream's first conv from RGB weights.

The fusions of Feichtenhofer et al. live in :mod:`vidzoo.models.two_stream_conv` (convolutional fusion)
and :mod:`vidzoo.models.st_resnet` (residual links). Inputs follow the vidzoo contract: ``rgb``
``(B, 3, T, H, W)`` and ``flow`` ``(B, 2, T*L, H, W)`` (``T`` stacks of ``L`` fields). Fused models take
``{"rgb": ..., "flow": ...}``. Every model returns ``(B, num_classes)``; score-averaging models return
log-probabilities, which are valid logits (``softmax`` of them gives back the averaged probabilities).

Pre-trained weights arrive as state dicts (``backbone_weights``: an ImageNet backbone;
``spatial_weights``/``temporal_weights``: trained stream models): the engine reads the files named in the
config, the models read no files.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from vidzoo.models._input_checks import check_clip
from vidzoo.models._stream_backbones import BACKBONES, build_backbone, load_backbone_weights
from vidzoo.models.registry import register_model

_PAPER_2S = "Simonyan & Zisserman 2014, NeurIPS"
Weights = Mapping[str, Tensor]

#: Dropout of the paper's streams (Simonyan & Zisserman 2014, Sec. 6 and Table 1).
SPATIAL_DROPOUT, TEMPORAL_DROPOUT = 0.5, 0.9


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


def check_pair(inputs: object, model: str) -> tuple[Tensor, Tensor]:
    """The ``rgb`` and ``flow`` clips of a fused net's dict input, checked."""
    if not isinstance(inputs, dict) or "rgb" not in inputs or "flow" not in inputs:
        raise ValueError(f"{model}: expected a dict {{'rgb': (B,3,T,H,W), 'flow': (B,2,T*L,H,W)}}; set data.modality=rgb+flow")
    check_clip(inputs["rgb"], 3, model)
    check_clip(inputs["flow"], 2, model)
    return inputs["rgb"], inputs["flow"]


def paired_frames_and_stacks(inputs: object, temporal: nn.Module, model: str) -> tuple[Tensor, Tensor, int, int]:
    """Check a fused net's dict input; return ``(rgb, flow stacks as images, B, T)`` with one stack per RGB frame."""
    rgb, flow = check_pair(inputs, model)
    b, t = rgb.shape[0], rgb.shape[2]
    stacks, s = temporal.to_images(flow)
    if s != t:
        raise ValueError(f"{model}: {t} RGB frames but {s} flow stacks; they must pair up (data.num_frames)")
    return rgb, stacks, b, t


def load_stream(stream: nn.Module, weights: Weights | None, key: str) -> None:
    """Load a trained stream model's state dict (e.g. of ``two_stream_temporal``) into ``stream``."""
    if weights is None:
        return
    try:
        stream.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"{key}: does not fit this stream ({str(exc).splitlines()[0]}); pass a checkpoint of the same "
            "stream model (backbone, flow_length, num_classes)"
        ) from None


class StreamNet(nn.Module):
    """One stream: a 2D backbone applied per frame (``rgb``) or per flow stack (``flow``), scores averaged.

    rgb: ``(B, 3, T, H, W)`` -> backbone on each of the ``T`` frames. flow: ``(B, 2, S*L, H, W)`` ->
    backbone on each of the ``S`` stacks of ``2L`` channels. Logits are averaged over frames/stacks.
    ``mean_flow_subtraction`` subtracts each field's mean displacement first (Simonyan & Zisserman's
    camera-motion compensation; on by default for the full-size models, off for the CPU ones, whose
    synthetic classes are camera motions). ``freeze_backbone`` trains only the final classifier layer
    (the paper's spatial net on ImageNet features).
    """

    def __init__(
        self,
        modality: str,
        num_classes: int,
        backbone: str = "cnn_m_2048",
        flow_length: int = 10,
        dropout: float = 0.5,
        backbone_weights: Weights | None = None,
        mean_flow_subtraction: bool = False,
        freeze_backbone: bool = False,
    ) -> None:
        super().__init__()
        if modality not in ("rgb", "flow"):
            raise ValueError(f"stream modality must be 'rgb' or 'flow', got {modality!r}")
        if backbone not in BACKBONES:
            raise ValueError(f"unknown two-stream backbone {backbone!r}; choose one of: {', '.join(BACKBONES)}")
        self.modality, self.flow_length = modality, flow_length
        self.mean_flow_subtraction = mean_flow_subtraction
        in_channels = 3 if modality == "rgb" else 2 * flow_length
        self.backbone = build_backbone(backbone, in_channels, num_classes, dropout, temporal=modality == "flow")
        if backbone_weights is not None:
            load_backbone_weights(self.backbone, backbone_weights)
        if freeze_backbone:
            final = self.backbone.get_submodule(self.backbone.final_layer)
            for p in self.backbone.parameters():
                p.requires_grad_(False)
            final.requires_grad_(True)

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
        rgb, flow = check_pair(inputs, "two_stream_late")
        s, t = self.spatial(rgb), self.temporal(flow)
        if self.fusion == "average":
            return average_softmax([s, t], self.weights)
        return self.fuse(torch.cat([F.softmax(s, -1), F.softmax(t, -1)], dim=-1))


# ---------------------------------------------------------------------------------------------- builders


def build_streams(num_classes: int, backbone: str, flow_length: int, dropout: float | Sequence[float],
                  backbone_weights: Weights | None, spatial_weights: Weights | None, temporal_weights: Weights | None,
                  mean_flow_subtraction: bool) -> tuple[StreamNet, StreamNet]:
    """A spatial and a temporal :class:`StreamNet` (``dropout``: one ratio or (spatial, temporal)), trained weights
    loaded."""
    dropout = (float(dropout),) * 2 if isinstance(dropout, (int, float)) else tuple(dropout)
    spatial = StreamNet("rgb", num_classes, backbone, flow_length, dropout[0], backbone_weights)
    temporal = StreamNet("flow", num_classes, backbone, flow_length, dropout[1], backbone_weights, mean_flow_subtraction)
    load_stream(spatial, spatial_weights, "spatial_weights")
    load_stream(temporal, temporal_weights, "temporal_weights")
    return spatial, temporal


@register_model("two_stream_spatial", input_shape=(3, 1, 224, 224), inputs=("rgb",), family="Two-Stream", paper=_PAPER_2S)
def two_stream_spatial(num_classes: int = 101, backbone: str = "cnn_m_2048", dropout: float = SPATIAL_DROPOUT,
                       backbone_weights: Weights | None = None, freeze_backbone: bool = False) -> nn.Module:
    """Spatial stream: a 2D ConvNet on single RGB frames ``(B, 3, T, H, W)`` (scores averaged over T).
    ``backbone``: cnn_m_2048 | resnet18 | resnet50 | vgg16. ``backbone_weights``: an ImageNet state dict;
    with it, ``freeze_backbone=True`` is the paper's recipe (only the last layer trains)."""
    return StreamNet("rgb", num_classes, backbone, 1, dropout, backbone_weights, freeze_backbone=freeze_backbone)


@register_model("two_stream_spatial_small", input_shape=(3, 1, 56, 56), inputs=("rgb",), family="Two-Stream", paper=_PAPER_2S)
def two_stream_spatial_small(num_classes: int = 9, dropout: float = SPATIAL_DROPOUT,
                             freeze_backbone: bool = False) -> nn.Module:
    """CPU spatial stream (small ResNet)."""
    return StreamNet("rgb", num_classes, "small", 1, dropout, freeze_backbone=freeze_backbone)


@register_model("two_stream_temporal", input_shape=(2, 10, 224, 224), inputs=("flow",), family="Two-Stream", paper=_PAPER_2S)
def two_stream_temporal(num_classes: int = 101, backbone: str = "cnn_m_2048", flow_length: int = 10,
                        dropout: float = TEMPORAL_DROPOUT, backbone_weights: Weights | None = None,
                        mean_flow_subtraction: bool = True) -> nn.Module:
    """Temporal stream: a 2D ConvNet on a stack of L flow fields ``(B, 2, L, H, W)`` seen as 2L channels.
    ``backbone_weights``: an RGB ImageNet state dict, first conv converted by cross-modality init."""
    return StreamNet("flow", num_classes, backbone, flow_length, dropout, backbone_weights, mean_flow_subtraction)


@register_model("two_stream_temporal_small", input_shape=(2, 5, 56, 56), inputs=("flow",), family="Two-Stream", paper=_PAPER_2S)
def two_stream_temporal_small(num_classes: int = 9, flow_length: int = 5, dropout: float = TEMPORAL_DROPOUT,
                              mean_flow_subtraction: bool = False) -> nn.Module:
    """CPU temporal stream (small ResNet)."""
    return StreamNet("flow", num_classes, "small", flow_length, dropout, None, mean_flow_subtraction)


@register_model("two_stream_late", input_shape=(3, 1, 224, 224), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER_2S, flow_shape=(2, 10, 224, 224))
def two_stream_late(num_classes: int = 101, backbone: str = "cnn_m_2048", flow_length: int = 10,
                    dropout: Sequence[float] = (SPATIAL_DROPOUT, TEMPORAL_DROPOUT), fusion: str = "average",
                    fusion_weights: Sequence[float] = (1.0, 1.0), freeze_streams: bool = False,
                    backbone_weights: Weights | None = None, spatial_weights: Weights | None = None,
                    temporal_weights: Weights | None = None, mean_flow_subtraction: bool = True) -> nn.Module:
    """Two-stream ConvNet with late fusion (average of softmax scores, or a linear layer on them).
    ``spatial_weights``/``temporal_weights``: trained stream state dicts to start from."""
    spatial, temporal = build_streams(num_classes, backbone, flow_length, dropout, backbone_weights,
                                      spatial_weights, temporal_weights, mean_flow_subtraction)
    return TwoStreamLate(spatial, temporal, num_classes, fusion, fusion_weights, freeze_streams)


@register_model("two_stream_late_small", input_shape=(3, 1, 56, 56), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER_2S, flow_shape=(2, 5, 56, 56))
def two_stream_late_small(num_classes: int = 9, flow_length: int = 5,
                          dropout: Sequence[float] = (SPATIAL_DROPOUT, TEMPORAL_DROPOUT), fusion: str = "average",
                          fusion_weights: Sequence[float] = (1.0, 1.0), freeze_streams: bool = False,
                          spatial_weights: Weights | None = None, temporal_weights: Weights | None = None,
                          mean_flow_subtraction: bool = False) -> nn.Module:
    """CPU late-fusion two-stream net (small ResNet streams)."""
    spatial, temporal = build_streams(num_classes, "small", flow_length, dropout, None, spatial_weights,
                                      temporal_weights, mean_flow_subtraction)
    return TwoStreamLate(spatial, temporal, num_classes, fusion, fusion_weights, freeze_streams)
