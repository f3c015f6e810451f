"""C3D (Tran et al. 2015, "Learning Spatiotemporal Features with 3D Convolutional Networks", ICCV).

Eight 3x3x3 convolutions (stride 1, padding 1) with 64, 128, 256, 256, 512, 512, 512, 512 filters, five max-pools
(pool1 1x2x2 so early temporal information survives, pool2-5 2x2x2), then fc6 and fc7 (4096, ReLU, dropout 0.5)
and the classifier fc8. Input: 16 frames of 112x112 (``(B, 3, 16, 112, 112)``); pool5 leaves 512x1x4x4 = 8192
features for fc6. Pooling rounds up, as Caffe (the paper's framework) does, so pool5 maps 7x7 to 4x4.
The paper's video descriptor is fc6 (:meth:`C3D.fc6_features`), not fc7.

Differences from the paper, all opt-in and off in the full-size ``c3d`` builder:

* ``width`` multiplies every convolution's filters and ``fc_dim`` sets the fc6/fc7 size, so a CPU variant
  (``c3d_small``) keeps the layout with a fraction of the compute.
* ``batch_norm=True`` adds BatchNorm after every convolution (C3D had none; BN lets the small variant train
  in a few CPU minutes from scratch).
* An adaptive average pool to ``pooled_size`` (default ``(1, 4, 4)``) sits between pool5 and fc6. At the native
  input it is the identity; for other clip sizes it makes the fc6 input size fixed, so any ``T, H, W`` works.
* ``pool5_padding=(0, 1, 1)`` pads pool5 instead of rounding up, as the PyTorch ports of the Sports-1M weights
  (c3d-pytorch's ``c3d.pickle``, MMAction2) do: both give 4x4 from 7x7, but the 2x2 windows sit one pixel apart,
  so weights from those ports reproduce their outputs only with it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from vidzoo.models._input_checks import check_clip
from vidzoo.models.registry import register_model

_PAPER = "Tran et al. 2015, ICCV"
C3D_WIDTHS = (64, 128, 256, 256, 512, 512, 512, 512)
_CONV_NAMES = ("conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b")
# The pool that follows each named convolution.
_POOLS = {"conv1": ("pool1", (1, 2, 2)), "conv2": ("pool2", 2), "conv3b": ("pool3", 2), "conv4b": ("pool4", 2),
          "conv5b": ("pool5", 2)}


def _conv_block(in_channels: int, out_channels: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm3d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class C3D(nn.Module):
    """The C3D network; see the module docstring.

    Args:
        num_classes: size of fc8 (487 for Sports-1M, 101 for UCF101).
        widths: filters of the eight convolutions conv1..conv5b.
        fc_dim: size of fc6 and fc7.
        dropout: dropout after fc6 and fc7.
        batch_norm: add BatchNorm after each convolution (not in the paper).
        pooled_size: ``(T, H, W)`` the pool5 output is averaged to before fc6.
        pool5_padding: ``(T, H, W)`` padding of pool5 (no rounding up); None = Caffe's ceil mode.

    Shapes: ``(B, 3, T, H, W) -> (B, num_classes)``; at ``T, H, W = 16, 112, 112`` pool5 gives
    ``(B, widths[-1], 1, 4, 4)``.
    """

    def __init__(
        self,
        num_classes: int = 487,
        widths: Sequence[int] = C3D_WIDTHS,
        fc_dim: int = 4096,
        dropout: float = 0.5,
        batch_norm: bool = False,
        pooled_size: Sequence[int] = (1, 4, 4),
        pool5_padding: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if len(widths) != 8:
            raise ValueError(f"C3D: widths needs 8 entries (conv1..conv5b), got {list(widths)}")
        if len(pooled_size) != 3:
            raise ValueError(f"C3D: pooled_size is (T, H, W), got {list(pooled_size)}")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        in_channels = 3
        for name, out_channels in zip(_CONV_NAMES, widths):
            layers[name] = _conv_block(in_channels, out_channels, batch_norm)
            if name in _POOLS:
                pool_name, size = _POOLS[name]
                if pool_name == "pool5" and pool5_padding is not None:
                    layers[pool_name] = nn.MaxPool3d(kernel_size=size, stride=size, padding=tuple(pool5_padding))
                else:
                    layers[pool_name] = nn.MaxPool3d(kernel_size=size, stride=size, ceil_mode=True)
            in_channels = out_channels
        self.features = nn.Sequential(layers)
        self.pool = nn.AdaptiveAvgPool3d(tuple(pooled_size))
        flat = in_channels * math.prod(int(s) for s in pooled_size)
        self.fc6 = nn.Linear(flat, fc_dim)
        self.fc7 = nn.Linear(fc_dim, fc_dim)
        self.fc8 = nn.Linear(fc_dim, num_classes)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv3d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out" if isinstance(m, nn.Conv3d) else "fan_in",
                                        nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc8.weight, 0.0, 0.01)

    def fc6_features(self, x: Tensor) -> Tensor:
        """``(B, 3, T, H, W) -> (B, fc_dim)``: the fc6 activations (after ReLU), the paper's C3D descriptor
        (Sec. 3.3: fc6 averaged over a video's 16-frame clips, then L2-normalised, for a linear SVM)."""
        check_clip(x, 3, "C3D")
        return self.relu(self.fc6(torch.flatten(self.pool(self.features(x)), 1)))

    def forward_features(self, x: Tensor) -> Tensor:
        """``(B, 3, T, H, W) -> (B, fc_dim)``: the fc7 activations, the input of the classifier fc8."""
        return self.dropout(self.relu(self.fc7(self.dropout(self.fc6_features(x)))))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, T, H, W) -> (B, num_classes)`` logits."""
        return self.fc8(self.forward_features(x))


def _build(num_classes: int, width: float, **kwargs: Any) -> C3D:
    if width <= 0:
        raise ValueError(f"c3d: width must be > 0, got {width}")
    widths = [max(1, int(round(c * width))) for c in C3D_WIDTHS]
    return C3D(num_classes=num_classes, widths=widths, **kwargs)


@register_model("c3d", input_shape=(3, 16, 112, 112), family="C3D", paper=_PAPER)
def c3d(num_classes: int = 487, width: float = 1.0, **kwargs: Any) -> C3D:
    """Full-size C3D (no BatchNorm): 79,991,015 parameters at 487 classes, 78,409,573 at 101."""
    return _build(num_classes, width, **kwargs)


@register_model("c3d_small", input_shape=(3, 8, 56, 56), family="C3D", paper=_PAPER)
def c3d_small(num_classes: int = 101, width: float = 0.125, **kwargs: Any) -> C3D:
    """CPU-size C3D: width 1/8 (8-16-32-32-64-64-64-64 filters), fc 256, BatchNorm, no dropout, pool5 -> 1x2x2.

    Same layer layout as ``c3d``; at ``(B, 3, 8, 56, 56)`` pool5 is already ``1x2x2``. Dropout defaults to 0:
    on synthetic motions (batch 16, SGD lr 0.05) it reaches 99% top-1 in 500 steps, while the paper's 0.5 on
    this 256-wide head keeps it at chance for 500 steps and 0.2 delays learning by about 300 steps.
    """
    kwargs = {"fc_dim": 256, "batch_norm": True, "dropout": 0.0, "pooled_size": (1, 2, 2), **kwargs}
    return _build(num_classes, width, **kwargs)
