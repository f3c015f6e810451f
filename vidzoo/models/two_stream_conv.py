"""Convolutional two-stream fusion (Feichtenhofer, Pinz & Zisserman 2016, CVPR).

Both streams run per frame pair (RGB frame ``t`` with flow stack ``t``) up to their last conv map
(relu5_3 for VGG-16). The two maps are stacked on channels (spatial first, ``2C`` = 1024) into one
``T``-frame volume and fused by one 3x3x3 Conv3d ``2C -> C`` + ReLU, initialised as in the authors'
``cnn_ucf101_fusion.m``: ``[0.25 I; 0.75 I]`` (spatial, temporal) times a normalised 3x3x3 Gaussian
(sigma 1), bias 0. 3D max pooling ``(pool_frames, k, k)`` with stride ``(2, s, s)`` replaces the
backbone's 2D pool5 (VGG-16: 2x2 stride 2) in the fused tower and in the kept temporal tower; the spatial
network's fully connected layers classify the fused volume and the temporal network's its own.

Training has two losses, the fused tower's and the temporal tower's (the temporal logits are left in
``auxiliary_logits`` for the trainer); at evaluation the model returns the mean of the two towers'
logits, as the authors' evaluation averages every prediction layer. Dropout 0.85 in both towers.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from vidzoo.models._stream_backbones import backbone_features
from vidzoo.models.registry import register_model
from vidzoo.models.two_stream import StreamNet, Weights, build_streams, frames_to_batch, paired_frames_and_stacks

_PAPER = "Feichtenhofer, Pinz & Zisserman 2016, CVPR"
FUSION_DROPOUT = 0.85  # cnn_ucf101_fusion.m: opts.dropOutRatio, set on every dropout layer


def gaussian_3x3x3(sigma: float = 1.0) -> Tensor:
    """A 3x3x3 Gaussian over offsets -1..1 in (t, y, x), normalised to sum 1."""
    r = torch.arange(-1.0, 2.0)
    d2 = r.view(3, 1, 1) ** 2 + r.view(1, 3, 1) ** 2 + r.view(1, 1, 3) ** 2
    g = torch.exp(-d2 / (2 * sigma**2))
    return g / g.sum()


def init_fusion_conv(conv: nn.Conv3d, weights: Sequence[float] = (0.25, 0.75), sigma: float = 1.0) -> None:
    """``conv.weight[o, i]`` = ``weights[0]`` (i = o, spatial half) or ``weights[1]`` (i = C + o, temporal
    half), else 0, times :func:`gaussian_3x3x3`; bias 0."""
    out_c, in_c = conv.out_channels, conv.in_channels
    if in_c != 2 * out_c or conv.kernel_size != (3, 3, 3):
        raise ValueError(f"fusion conv must be Conv3d(2C, C, 3), got Conv3d({in_c}, {out_c}, {conv.kernel_size})")
    eye = torch.eye(out_c)
    mix = torch.cat([weights[0] * eye, weights[1] * eye], dim=1)  # (C, 2C)
    with torch.no_grad():
        conv.weight.copy_(mix[:, :, None, None, None] * gaussian_3x3x3(sigma))
        if conv.bias is not None:
            conv.bias.zero_()


class TwoStreamConvFusion(nn.Module):
    """Conv fusion of two :class:`StreamNet` s over ``T`` frame/stack pairs.

    rgb ``(B, 3, T, H, W)`` with flow ``(B, 2, T*L, H, W)`` -> ``(B, num_classes)``; ``T >= pool_frames``.
    ``keep_temporal_tower=False`` drops the temporal tower (one loss, fused prediction only).
    """

    def __init__(self, spatial: StreamNet, temporal: StreamNet, pool_frames: int = 5,
                 keep_temporal_tower: bool = True) -> None:
        super().__init__()
        self.spatial, self.temporal = spatial, temporal
        c = spatial.backbone.out_channels
        self.fuse = nn.Conv3d(2 * c, c, 3, padding=1)
        init_fusion_conv(self.fuse)
        self.pool_frames = int(pool_frames)
        self.keep_temporal_tower = keep_temporal_tower
        self.auxiliary_logits: list[Tensor] = []

    def _tower(self, backbone: nn.Module, x: Tensor) -> Tensor:
        """3D max pooling of ``(B, C, T, h, w)``, then the backbone's layers after pool5 on each pooled time
        step; logits averaged over the pooled time steps."""
        window, stride, ceil = backbone.pool5_window
        x = F.max_pool3d(x, (self.pool_frames, window, window), (2, stride, stride), ceil_mode=ceil)
        b, c, t, h, w = x.shape
        logits = backbone.classify(x.transpose(1, 2).reshape(b * t, c, h, w))
        return logits.view(b, t, -1).mean(dim=1)

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        rgb, stacks, b, t = paired_frames_and_stacks(inputs, self.temporal, "two_stream_conv")
        if t < self.pool_frames:
            raise ValueError(f"two_stream_conv: {t} frames per clip, fewer than pool_frames={self.pool_frames}; "
                             f"set data.num_frames >= {self.pool_frames}")
        fs = backbone_features(self.spatial.backbone)(frames_to_batch(rgb))
        ft = backbone_features(self.temporal.backbone)(stacks)

        def volume(f: Tensor) -> Tensor:  # (B*T, C, h, w) -> (B, C, T, h, w)
            return f.reshape(b, t, *f.shape[1:]).transpose(1, 2)

        fused = F.relu(self.fuse(torch.cat([volume(fs), volume(ft)], dim=1)))
        logits = self._tower(self.spatial.backbone, fused)
        self.auxiliary_logits = []
        if not self.keep_temporal_tower:
            return logits
        temporal_logits = self._tower(self.temporal.backbone, volume(ft))
        if self.training:
            self.auxiliary_logits = [temporal_logits]
            return logits
        return (logits + temporal_logits) / 2


@register_model("two_stream_conv", input_shape=(3, 5, 224, 224), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER, flow_shape=(2, 50, 224, 224))
def two_stream_conv(num_classes: int = 101, backbone: str = "vgg16", flow_length: int = 10,
                    dropout: float = FUSION_DROPOUT, pool_frames: int = 5, keep_temporal_tower: bool = True,
                    backbone_weights: Weights | None = None, spatial_weights: Weights | None = None,
                    temporal_weights: Weights | None = None, mean_flow_subtraction: bool = True) -> nn.Module:
    """Conv fusion of two VGG-16 streams at relu5_3 over 5 frames: Conv3d(1024, 512, 3) + 3D pooling 2x2x5."""
    spatial, temporal = build_streams(num_classes, backbone, flow_length, dropout, backbone_weights, spatial_weights,
                                      temporal_weights, mean_flow_subtraction)
    return TwoStreamConvFusion(spatial, temporal, pool_frames, keep_temporal_tower)


@register_model("two_stream_conv_small", input_shape=(3, 3, 56, 56), inputs=("rgb", "flow"), family="Two-Stream",
                paper=_PAPER, flow_shape=(2, 15, 56, 56))
def two_stream_conv_small(num_classes: int = 9, flow_length: int = 5, dropout: float = FUSION_DROPOUT,
                          pool_frames: int = 3, keep_temporal_tower: bool = True,
                          spatial_weights: Weights | None = None, temporal_weights: Weights | None = None,
                          mean_flow_subtraction: bool = False) -> nn.Module:
    """CPU conv fusion (small ResNet streams, Conv3d(256, 128, 3), 3D pooling 1x1x3 before global averaging)."""
    spatial, temporal = build_streams(num_classes, "small", flow_length, dropout, None, spatial_weights,
                                      temporal_weights, mean_flow_subtraction)
    return TwoStreamConvFusion(spatial, temporal, pool_frames, keep_temporal_tower)
