"""FstCN (Sun et al. 2015, "Human Action Recognition using Factorized Spatio-Temporal Convolutional Networks",
ICCV): a 3D convolution factorised into 2D spatial convolutions on each frame followed by 1D temporal
convolutions over the resulting feature maps.

Layout (full size, channels of the paper's VGG-M-like trunk):

* lower spatial convolutional layers (SCL), shared by both paths and applied to every frame on its own:
  conv1 96 7x7/2, pool 3x3/2, conv2 256 5x5/2, pool 3x3/2, conv3 512 3x3, conv4 512 3x3;
* spatial path (appearance): one frame's conv4 maps -> conv5 128 3x3 -> pool -> fc 4096 -> fc 2048 -> classes;
* temporal path (TCL, motion): the lower SCL see the frame *differences* ``V_diff[t] = x[t + s] - x[t]``
  (``s = diff_stride``), then conv5 128 3x3 per frame, then temporal convolutions over the stack of feature
  maps (kernel ``k_t x 1 x 1``), average pooling to ``temporal_bins`` time steps x ``pooled_size``, flattened
  *with its time axis* into fc 4096 -> fc 2048 -> classes;
* the two paths' logits are summed, i.e. their softmax scores are multiplied and renormalised.

Simplifications relative to the paper (this module is a faithful-in-spirit re-implementation):

* The paper's transformation-and-permutation (T-P) operator reshapes the feature maps so that a 2D convolution
  slides along time; here the temporal convolutions are written directly as ``Conv3d`` with kernel
  ``(k_t, 1, 1)``, i.e. the same 1D temporal filtering at each spatial position.
* Which frame feeds the spatial path: the clip's centre frame here.
* The TCL output keeps a time axis into fc6 (``temporal_bins``, 4 by default; adaptive pooling so any clip
  length works), as the paper's TCL output is flattened into its fc layer. Pooling time away before fc6 (what
  this module did first) leaves direction to what ``k_t x 1 x 1`` kernels see at one position: on the synthetic
  motions that net told every motion's axis but not its direction (Up vs Down, CW vs CCW, In vs Out at 50%).
* Test-time fusion weighted by the Sparsity Concentration Index (SCI) of each crop/clip's scores is not part of
  the model; the evaluator averages clip scores like for every other model.
* LRN after conv1/conv2 is left out; ``batch_norm=True`` adds BatchNorm after every convolution instead
  (on in ``fstcn_small`` so it trains from scratch on a CPU, off in ``fstcn``). Spatial sizes are padded to
  halve cleanly, and an adaptive average pool to ``pooled_size`` before fc6 lets any clip size work.

CPU variant (``fstcn_small``): widths scaled down and conv1/conv2 with stride 1 instead of 2 (``scl_strides``), so
the shared layers downsample 56 px frames 4x (14x14 maps, the pooling layers remain) instead of 16x before the
temporal convolutions. With the paper's 16x the motion path saw 4x4 maps of a 56 px frame, too coarse to tell the
direction of a few-pixel displacement: 50-53% video top-1 on the synthetic motions (8x: 53%); the full-size
``fstcn`` is unchanged.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor, nn

from vidzoo.models._input_checks import check_clip
from vidzoo.models.registry import register_model

_PAPER = "Sun et al. 2015, ICCV"
FSTCN_WIDTHS = (96, 256, 512, 512, 128)  # conv1..conv4 (shared SCL), conv5 (each path)


def _conv2d(in_channels: int, out_channels: int, kernel: int, stride: int, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return layers


def _pool2d() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


def _head(in_features: int, fc_dims: Sequence[int], num_classes: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for dim in fc_dims:
        layers += [nn.Linear(in_features, dim), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        in_features = dim
    layers.append(nn.Linear(in_features, num_classes))
    return nn.Sequential(*layers)


class FstCN(nn.Module):
    """Factorised spatio-temporal CNN; see the module docstring.

    Args:
        num_classes: number of classes.
        widths: filters of conv1..conv4 (shared) and conv5 (per path).
        temporal_widths: output channels of each temporal convolution of the TCL path.
        temporal_kernel: ``k_t`` of the temporal convolutions.
        diff_stride: ``s`` in ``V_diff[t] = x[t + s] - x[t]``; clips need ``T > s``.
        fc_dims: hidden fully connected sizes of each path's head.
        dropout: dropout after each hidden fully connected layer.
        batch_norm: BatchNorm after every convolution (not in the paper).
        pooled_size: ``(H, W)`` the conv5 maps are average-pooled to before the heads.
        scl_strides: strides of conv1 and conv2 (2, 2 in the paper; 1, 1 in ``fstcn_small``, see the module docstring).
        temporal_bins: time steps the TCL output is average-pooled to before the temporal path's fc6.

    Shapes, with ``h, w = H/16, W/16`` after the shared layers (``H/4, W/4`` with ``scl_strides=(1, 1)``):
    ``x (B, 3, T, H, W)`` -> spatial path on ``x[:, :, T // 2]`` ``(B, 3, H, W)`` -> ``(B, num_classes)``;
    ``V_diff (B, 3, T - s, H, W)`` -> per-frame SCL ``(B, C5, T - s, h, w)`` -> temporal convs -> pool to
    ``(B, C_t, temporal_bins, *pooled_size)`` -> ``(B, num_classes)``; output = sum of the two, ``(B, num_classes)``.
    """

    def __init__(
        self,
        num_classes: int = 101,
        widths: Sequence[int] = FSTCN_WIDTHS,
        temporal_widths: Sequence[int] = (128,),
        temporal_kernel: int = 3,
        diff_stride: int = 1,
        fc_dims: Sequence[int] = (4096, 2048),
        dropout: float = 0.5,
        batch_norm: bool = False,
        pooled_size: Sequence[int] = (4, 4),
        scl_strides: Sequence[int] = (2, 2),
        temporal_bins: int = 4,
    ) -> None:
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f"FstCN: widths needs 5 entries (conv1..conv5), got {list(widths)}")
        if diff_stride < 1:
            raise ValueError(f"FstCN: diff_stride must be >= 1, got {diff_stride}")
        if temporal_bins < 1:
            raise ValueError(f"FstCN: temporal_bins must be >= 1, got {temporal_bins}")
        self.diff_stride = diff_stride
        c1, c2, c3, c4, c5 = widths
        s1, s2 = scl_strides
        self.scl = nn.Sequential(
            *_conv2d(3, c1, 7, s1, batch_norm), _pool2d(),
            *_conv2d(c1, c2, 5, s2, batch_norm), _pool2d(),
            *_conv2d(c2, c3, 3, 1, batch_norm),
            *_conv2d(c3, c4, 3, 1, batch_norm),
        )
        self.spatial_conv5 = nn.Sequential(*_conv2d(c4, c5, 3, 1, batch_norm))
        self.temporal_conv5 = nn.Sequential(*_conv2d(c4, c5, 3, 1, batch_norm))
        tcl: list[nn.Module] = []
        in_channels = c5
        for out_channels in temporal_widths:
            tcl.append(nn.Conv3d(in_channels, out_channels, (temporal_kernel, 1, 1),
                                 padding=(temporal_kernel // 2, 0, 0), bias=not batch_norm))
            if batch_norm:
                tcl.append(nn.BatchNorm3d(out_channels))
            tcl.append(nn.ReLU(inplace=True))
            in_channels = out_channels
        self.tcl = nn.Sequential(*tcl)
        self.spatial_pool = nn.AdaptiveAvgPool2d(tuple(pooled_size))
        self.temporal_pool = nn.AdaptiveAvgPool3d((int(temporal_bins), *pooled_size))
        area = int(pooled_size[0]) * int(pooled_size[1])
        self.spatial_head = _head(c5 * area, fc_dims, num_classes, dropout)
        self.temporal_head = _head(in_channels * int(temporal_bins) * area, fc_dims, num_classes, dropout)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.ones_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        for head in (self.spatial_head, self.temporal_head):
            nn.init.normal_(head[-1].weight, 0.0, 0.01)

    def _per_frame(self, clip: Tensor, conv5: nn.Module) -> Tensor:
        """``(B, C, T, H, W) -> (B, C5, T, h, w)``: shared SCL and a path's conv5 on every frame independently."""
        b, c, t, h, w = clip.shape
        y = conv5(self.scl(clip.transpose(1, 2).reshape(b * t, c, h, w)))
        return y.view(b, t, *y.shape[1:]).transpose(1, 2)

    def spatial_logits(self, x: Tensor) -> Tensor:
        """Appearance path on the centre frame: ``(B, 3, T, H, W) -> (B, num_classes)``."""
        frame = x[:, :, x.shape[2] // 2 : x.shape[2] // 2 + 1]
        y = self._per_frame(frame, self.spatial_conv5)[:, :, 0]
        return self.spatial_head(torch.flatten(self.spatial_pool(y), 1))

    def temporal_logits(self, x: Tensor) -> Tensor:
        """Motion path on frame differences: ``(B, 3, T, H, W) -> (B, num_classes)``."""
        s = self.diff_stride
        diff = x[:, :, s:] - x[:, :, :-s]
        y = self.tcl(self._per_frame(diff, self.temporal_conv5))
        return self.temporal_head(torch.flatten(self.temporal_pool(y), 1))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, T, H, W) -> (B, num_classes)``: sum of the spatial and temporal paths' logits."""
        check_clip(x, 3, "FstCN", min_frames=self.diff_stride + 1)
        return self.spatial_logits(x) + self.temporal_logits(x)


@register_model("fstcn", input_shape=(3, 16, 112, 112), family="FstCN", paper=_PAPER)
def fstcn(num_classes: int = 101, **kwargs: Any) -> FstCN:
    """Full-size FstCN: 96-256-512-512 shared SCL, conv5 128 per path, one 3x1x1 temporal conv, fc 4096-2048."""
    return FstCN(num_classes=num_classes, **kwargs)


@register_model("fstcn_small", input_shape=(3, 8, 56, 56), family="FstCN", paper=_PAPER)
def fstcn_small(num_classes: int = 101, **kwargs: Any) -> FstCN:
    """CPU-size FstCN: 16-32-64-64 shared SCL (conv1, conv2 stride 1), conv5 32, two temporal convs of 32, fc 256,
    BatchNorm."""
    defaults: dict[str, Any] = {
        "widths": (16, 32, 64, 64, 32),
        "temporal_widths": (32, 32),
        "fc_dims": (256,),
        "dropout": 0.2,
        "batch_norm": True,
        "pooled_size": (2, 2),
        "scl_strides": (1, 1),
    }
    return FstCN(num_classes=num_classes, **{**defaults, **kwargs})
