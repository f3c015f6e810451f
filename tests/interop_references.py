"""Reference networks laid out as the peers lay them out, so tests can make state dicts with their exact keys.

Written for these tests from the peers' module and key names (c3d-pytorch ``C3D_model.py``; MMAction2
``backbones/c3d.py``, ``backbones/resnet3d.py``, ``common/conv2plus1d.py``, ``heads/i3d_head.py``): the same
attribute names, shapes and forward order, nothing else.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

C3D_LAYERS = (("conv1", 3, 64), ("conv2", 64, 128), ("conv3a", 128, 256), ("conv3b", 256, 256),
              ("conv4a", 256, 512), ("conv4b", 512, 512), ("conv5a", 512, 512), ("conv5b", 512, 512))
C3D_POOL_AFTER = {"conv1": (1, 2, 2), "conv2": 2, "conv3b": 2, "conv4b": 2}


class FlatC3D(nn.Module):
    """c3d-pytorch's layout (``c3d.pickle`` keys): conv1 ... conv5b, fc6, fc7, fc8; pool5 pads H, W by one.

    ``(B, 3, 16, 112, 112) -> (B, 487)`` logits (the port applies a softmax on top; argmax is the same).
    """

    def __init__(self, num_classes: int = 487) -> None:
        super().__init__()
        for name, c_in, c_out in C3D_LAYERS:
            setattr(self, name, nn.Conv3d(c_in, c_out, 3, padding=1))
        self.fc6, self.fc7, self.fc8 = nn.Linear(8192, 4096), nn.Linear(4096, 4096), nn.Linear(4096, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name, _, _ in C3D_LAYERS:
            x = F.relu(getattr(self, name)(x))
            if name in C3D_POOL_AFTER:
                x = F.max_pool3d(x, C3D_POOL_AFTER[name], C3D_POOL_AFTER[name])
        x = F.max_pool3d(x, 2, 2, padding=(0, 1, 1)).flatten(1)
        return self.fc8(F.relu(self.fc7(F.relu(self.fc6(x)))))


def mmaction_c3d_keys(flat_key: str) -> str:
    """The MMAction2 recognizer key of a ``c3d.pickle`` key (``conv1.weight`` -> ``backbone.conv1a.conv.weight``)."""
    layer, param = flat_key.split(".")
    if layer == "fc8":
        return f"cls_head.fc_cls.{param}"
    if layer.startswith("fc"):
        return f"backbone.{layer}.{param}"
    return f"backbone.{ {'conv1': 'conv1a', 'conv2': 'conv2a'}.get(layer, layer)}.conv.{param}"


class Conv2plus1d(nn.Module):
    """MMAction2's (2+1)D convolution: ``conv_s`` (1 x kh x kw), ``bn_s`` (eps 1e-5), ReLU, ``conv_t`` (kt x 1 x 1)."""

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int, int], stride: tuple[int, int, int],
                 padding: tuple[int, int, int]) -> None:
        super().__init__()
        kt, kh, kw = kernel
        mid = int(3 * (c_in * c_out * kh * kw) / (c_in * kh * kw + 3 * c_out))
        self.conv_s = nn.Conv3d(c_in, mid, (1, kh, kw), (1, stride[1], stride[2]), (0, padding[1], padding[2]),
                                bias=False)
        self.bn_s = nn.BatchNorm3d(mid)
        self.conv_t = nn.Conv3d(mid, c_out, (kt, 1, 1), (stride[0], 1, 1), (padding[0], 0, 0), bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_t(F.relu(self.bn_s(self.conv_s(x))))


class ConvModule(nn.Module):
    """mmcv's ConvModule naming: ``conv`` then ``bn`` (SyncBN eps 1e-3 in the R(2+1)D-34 config), optional ReLU."""

    def __init__(self, conv: nn.Module, c_out: int, act: bool) -> None:
        super().__init__()
        self.conv, self.bn, self.act = conv, nn.BatchNorm3d(c_out, eps=1e-3), act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(x) if self.act else x


class BasicBlock3d(nn.Module):
    """MMAction2's basic block with (2+1)D convolutions; the projection is a 1x1x1 (2+1)D ConvModule."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        s = (stride, stride, stride)
        self.conv1 = ConvModule(Conv2plus1d(c_in, c_out, (3, 3, 3), s, (1, 1, 1)), c_out, True)
        self.conv2 = ConvModule(Conv2plus1d(c_out, c_out, (3, 3, 3), (1, 1, 1), (1, 1, 1)), c_out, False)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = ConvModule(Conv2plus1d(c_in, c_out, (1, 1, 1), s, (0, 0, 0)), c_out, False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv2(self.conv1(x)) + identity)


class ResNet2Plus1d34(nn.Module):
    """MMAction2's ResNet2Plus1d (depth 34): (2+1)D 3x7x7 stem, 1x3x3 max-pool, stages [3, 4, 6, 3]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvModule(Conv2plus1d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3)), 64, True)
        c_in = 64
        for i, (n, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512)), start=1):
            blocks = [BasicBlock3d(c_in if j == 0 else width, width, 1 if i == 1 or j else 2) for j in range(n)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            c_in = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool3d(self.conv1(x), (1, 3, 3), (1, 2, 2), (0, 1, 1))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class I3DHead(nn.Module):
    """MMAction2's head: global average pool, ``fc_cls``."""

    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        self.fc_cls = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_cls(F.adaptive_avg_pool3d(x, 1).flatten(1))


class Recognizer3D(nn.Module):
    """MMAction2's recognizer: ``backbone`` then ``cls_head``, the prefixes of its checkpoint keys."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.cls_head = backbone, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls_head(self.backbone(x))


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BatchNorm statistics (so eps, scale and shift all matter); eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                values = torch.rand(t.shape, generator=g) + 0.5 if "running_var" in name else \
                    torch.randn(t.shape, generator=g) * (0.02 if t.dim() > 1 else 0.1)
                t.copy_(values)
    return model.eval()
