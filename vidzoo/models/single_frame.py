"""Single-frame baseline (the "single frame" model of Karpathy et al. 2014, CVPR): a 2D CNN sees every frame on
its own and the per-frame predictions are averaged over time.

There is no temporal mixing anywhere: frames are folded into the batch before the trunk and the only operation
across time is a mean, which is invariant to the order of the frames. The model therefore cannot use motion;
it is the reference point that tells whether a video model learned anything beyond appearance.

``fusion`` picks what is averaged over the ``T`` frames:

* ``"logits"`` (default): the mean of the frame logits is returned;
* ``"softmax"``: the frame class probabilities are averaged, as in the paper's evaluation, and the *log* of the
  mean probability is returned. These are valid logits (``softmax(log p) = p``), so cross-entropy training
  and top-k evaluation work unchanged.

Trunks: ``single_frame`` uses torchvision's ResNet-18 (random init, ``weights=None``) without its classifier;
``single_frame_small`` uses four stride-2 3x3 conv-BN-ReLU layers (16-32-64-128 channels at ``width=1``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models import resnet18

from vidzoo.models._input_checks import check_clip
from vidzoo.models.registry import register_model

_PAPER = "Karpathy et al. 2014, CVPR (single-frame baseline)"


class SingleFrame(nn.Module):
    """Apply a 2D ``trunk`` to each frame, classify each frame, average over time.

    Args:
        trunk: 2D network ``(N, C, H, W) -> (N, feature_dim)``.
        feature_dim: size of the trunk's output.
        num_classes: number of classes.
        fusion: ``"logits"`` or ``"softmax"`` (see the module docstring).
        dropout: dropout before the frame classifier.
        in_channels: channels of each frame (3 for RGB).

    Shapes: ``(B, C, T, H, W) -> (B * T, C, H, W) -> (B, T, num_classes) -> (B, num_classes)``.
    """

    def __init__(
        self,
        trunk: nn.Module,
        feature_dim: int,
        num_classes: int,
        fusion: str = "logits",
        dropout: float = 0.0,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if fusion not in ("logits", "softmax"):
            raise ValueError(f"SingleFrame: fusion must be 'logits' or 'softmax', got {fusion!r}")
        self.fusion = fusion
        self.in_channels = in_channels
        self.trunk = trunk
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(feature_dim, num_classes)

    def frame_logits(self, x: Tensor) -> Tensor:
        """``(B, C, T, H, W) -> (B, T, num_classes)``: each frame classified independently."""
        check_clip(x, self.in_channels, "SingleFrame")
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)
        return self.fc(self.dropout(self.trunk(frames))).view(b, t, -1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, T, H, W) -> (B, num_classes)``: mean logits, or log of the mean softmax."""
        logits = self.frame_logits(x)
        if self.fusion == "logits":
            return logits.mean(dim=1)
        return torch.logsumexp(logits.log_softmax(dim=-1), dim=1) - math.log(logits.shape[1])


def small_trunk(width: float = 1.0, in_channels: int = 3) -> tuple[nn.Sequential, int]:
    """A CPU-size 2D trunk: four 3x3 stride-2 conv-BN-ReLU layers and global average pooling.

    Returns ``(trunk, feature_dim)``; the trunk maps ``(N, C, H, W) -> (N, feature_dim)``.
    """
    channels = [max(1, int(round(c * width))) for c in (16, 32, 64, 128)]
    layers: list[nn.Module] = []
    for out_channels in channels:
        layers += [
            nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
        in_channels = out_channels
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(1)]
    trunk = nn.Sequential(*layers)
    for m in trunk.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return trunk, channels[-1]


@register_model("single_frame", input_shape=(3, 8, 112, 112), family="SingleFrame", paper=_PAPER)
def single_frame(num_classes: int = 101, fusion: str = "logits", dropout: float = 0.5, **kwargs: Any) -> SingleFrame:
    """ResNet-18 (torchvision, random init) on every frame, predictions averaged over time."""
    trunk = resnet18(weights=None, **kwargs)
    feature_dim = trunk.fc.in_features
    trunk.fc = nn.Identity()
    return SingleFrame(trunk, feature_dim, num_classes, fusion=fusion, dropout=dropout)


@register_model("single_frame_small", input_shape=(3, 8, 56, 56), family="SingleFrame", paper=_PAPER)
def single_frame_small(
    num_classes: int = 101, width: float = 1.0, fusion: str = "logits", dropout: float = 0.0
) -> SingleFrame:
    """CPU-size single-frame baseline: :func:`small_trunk` per frame, predictions averaged over time."""
    trunk, feature_dim = small_trunk(width)
    return SingleFrame(trunk, feature_dim, num_classes, fusion=fusion, dropout=dropout)
