"""ResNet-style video networks: R3D, MC3 and R(2+1)D (Tran et al. 2018, "A Closer Look at Spatiotemporal
Convolutions for Action Recognition", CVPR).

One residual network, three kinds of convolution passed in as a parameter:

* ``Conv3x3x3``   full 3D convolution (R3D);
* ``Conv1x3x3``   spatial-only convolution, used above a 3D bottom layer ("mixed convolution", MC3);
* ``Conv2Plus1D`` a 1x3x3 spatial convolution, BatchNorm, ReLU, then a 3x1x1 temporal convolution. Its
  hidden width M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out)) keeps the parameter count of the 3x3x3
  convolution it replaces (t = 3 frames, d = 3 pixels), while doubling the number of non-linearities.

The modules are architecturally equal to torchvision's ``r3d_18``, ``mc3_18`` and ``r2plus1d_18`` and use the
same ``state_dict`` keys, so torchvision checkpoints load with ``load_state_dict`` unchanged.

Where the (2+1)D hidden width comes from (``mid_channels``):

* ``"block"`` (default, torchvision): one M per residual block, computed from the block's input and output
  widths and used by both of its convolutions. This is what torchvision (and its Kinetics weights) do.
* ``"conv"`` (the paper's formula applied to every convolution): the block's second convolution maps
  N_out -> N_out, so its M is computed from (N_out, N_out). Only the first block of stages 2-4 changes,
  and the parameter count then matches the R3D network exactly as the paper intends (R(2+1)D-18:
  33,370,839 vs R3D-18: 33,371,472; with ``"block"`` it is 31,505,325). ``r2plus1d_34`` uses this.

The R(2+1)D stem (1x7x7 to 45 channels, then 3x1x1 to 64) follows the released models of the paper and
torchvision, not the formula (which would give 83).

``width`` scales every channel count (stem and the four stages), so ``r2plus1d_small`` (width 1/4, one block
per stage) trains on a CPU; pooling is global, so any ``T, H, W`` works.

MMAction2's R(2+1)D-34 differs in four places, each a keyword of :func:`video_resnet` (defaults keep
torchvision's layout): ``stem_mid=83`` (the formula applied to the 3x7x7 stem), ``stem_pool=True`` (a 1x3x3
max-pool, stride 1x2x2, after the stem), ``shortcut="2plus1d"`` (the projection shortcut is itself a (2+1)D
convolution with 1x1x1 kernels: spatial conv, BN, ReLU, temporal conv) and ``bn_eps=1e-3`` (the BatchNorm
after each convolution; the hidden BatchNorm inside a (2+1)D convolution keeps 1e-5 there too).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

from vidzoo.models._input_checks import check_clip
from vidzoo.models.registry import register_model

_PAPER = "Tran et al. 2018, CVPR"
_STAGE_WIDTHS = (64, 128, 256, 512)
_R2PLUS1D_STEM_MID = 45


def mid_channels_2plus1d(in_channels: int, out_channels: int, t: int = 3, d: int = 3) -> int:
    """Hidden width M of a (2+1)D convolution that matches the parameters of a ``t x d x d`` 3D convolution.

    M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out)); e.g. (64, 64) -> 144, (64, 128) -> 230.
    """
    return (t * d * d * in_channels * out_channels) // (d * d * in_channels + t * out_channels)


class Conv3x3x3(nn.Conv3d):
    """Full 3D convolution, ``(B, C_in, T, H, W) -> (B, C_out, T/s, H/s, W/s)``. ``mid_channels`` is unused."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)

    @staticmethod
    def shortcut_stride(stride: int) -> tuple[int, int, int]:
        """Stride of the 1x1x1 projection shortcut that matches this convolution's output size."""
        return (stride, stride, stride)


class Conv1x3x3(nn.Conv3d):
    """Spatial-only convolution, ``(B, C_in, T, H, W) -> (B, C_out, T, H/s, W/s)``: no temporal mixing."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None, stride: int = 1) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size=(1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False
        )

    @staticmethod
    def shortcut_stride(stride: int) -> tuple[int, int, int]:
        """Stride of the 1x1x1 projection shortcut that matches this convolution's output size."""
        return (1, stride, stride)


class Conv2Plus1D(nn.Sequential):
    """(2+1)D convolution: 1x3x3 spatial conv to ``mid_channels``, BN, ReLU, 3x1x1 temporal conv.

    ``(B, C_in, T, H, W) -> (B, C_out, T/s, H/s, W/s)``; the spatial conv takes the spatial stride and the
    temporal conv the temporal one. The final BN/ReLU belong to the enclosing block.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv3d(
                in_channels, mid_channels, kernel_size=(1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1),
                bias=False,
            ),
            nn.BatchNorm3d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv3d(
                mid_channels, out_channels, kernel_size=(3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False
            ),
        )

    @staticmethod
    def shortcut_stride(stride: int) -> tuple[int, int, int]:
        """Stride of the 1x1x1 projection shortcut that matches this convolution's output size."""
        return (stride, stride, stride)


class Shortcut2Plus1D(nn.Sequential):
    """Projection shortcut as a (2+1)D convolution of 1x1x1 kernels, then BN (MMAction2's R(2+1)D).

    ``(B, C_in, T, H, W) -> (B, C_out, T/s, H/s, W/s)``: 1x1x1 conv (spatial stride) to M channels, BN, ReLU,
    1x1x1 conv (temporal stride), BN; M = mid_channels_2plus1d(C_in, C_out, d=1).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        mid = mid_channels_2plus1d(in_channels, out_channels, d=1)
        super().__init__(
            nn.Conv3d(in_channels, mid, kernel_size=1, stride=(1, stride, stride), bias=False),
            nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, out_channels, kernel_size=1, stride=(stride, 1, 1), bias=False),
        )


ConvType = Callable[..., nn.Module]
_CONVS: dict[str, ConvType] = {"3d": Conv3x3x3, "2d": Conv1x3x3, "2plus1d": Conv2Plus1D}


class BasicBlock(nn.Module):
    """Two convolutions of type ``conv`` with a residual connection (ResNet-18/34 block).

    ``(B, C_in, T, H, W) -> (B, C_out, T', H/s, W/s)``. ``mid_channels`` is a pair, the hidden widths
    of the two convolutions (used only by :class:`Conv2Plus1D`).
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        conv: ConvType,
        stride: int = 1,
        mid_channels: tuple[int, int] = (0, 0),
        shortcut: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            conv(in_channels, out_channels, mid_channels[0], stride),
            nn.BatchNorm3d(out_channels),
            nn.ReLU(inplace=True),
        )
        self.conv2 = nn.Sequential(conv(out_channels, out_channels, mid_channels[1]), nn.BatchNorm3d(out_channels))
        self.downsample = shortcut
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


def stem_3d(out_channels: int = 64) -> nn.Sequential:
    """R3D/MC3 stem: 3x7x7 conv, stride (1, 2, 2), BN, ReLU. ``(B, 3, T, H, W) -> (B, C, T, H/2, W/2)``."""
    return nn.Sequential(
        nn.Conv3d(3, out_channels, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
        nn.BatchNorm3d(out_channels),
        nn.ReLU(inplace=True),
    )


class Stem2Plus1D(nn.Sequential):
    """R(2+1)D stem: 1x7x7 conv (stride 1,2,2) to ``mid_channels``, BN, ReLU, 3x1x1 conv, BN, ReLU.

    ``(B, 3, T, H, W) -> (B, C, T, H/2, W/2)``.
    """


def stem_2plus1d(out_channels: int = 64, mid_channels: int = _R2PLUS1D_STEM_MID) -> nn.Sequential:
    """The :class:`Stem2Plus1D` with ``out_channels`` outputs and ``mid_channels`` hidden channels."""
    return Stem2Plus1D(
        nn.Conv3d(3, mid_channels, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
        nn.BatchNorm3d(mid_channels),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid_channels, out_channels, kernel_size=(3, 1, 1), padding=(1, 0, 0), bias=False),
        nn.BatchNorm3d(out_channels),
        nn.ReLU(inplace=True),
    )


class VideoResNet(nn.Module):
    """Stem, four residual stages (stride 1, 2, 2, 2), global average pooling, linear classifier.

    Args:
        block: residual block class (:class:`BasicBlock`).
        convs: one convolution type per stage, e.g. ``[Conv3x3x3] + [Conv1x3x3] * 3`` for MC3.
        layers: blocks per stage, ``[2, 2, 2, 2]`` for 18 layers, ``[3, 4, 6, 3]`` for 34.
        stem: the stem module; its output width must be ``widths[0]``.
        widths: output channels of the four stages.
        num_classes: size of the output.
        mid_channels: ``"block"`` (torchvision) or ``"conv"`` (formula per convolution); see the module doc.
        dropout: dropout before the classifier (0 = none, as in torchvision).
        zero_init_residual: start every block as the identity (last BN weight of each block = 0).
        stem_pool: a 1x3x3 max-pool (stride 1x2x2) after the stem.
        shortcut: ``"conv"`` (1x1x1 conv + BN) or ``"2plus1d"`` (:class:`Shortcut2Plus1D` + BN).
        bn_eps: epsilon of the BatchNorm after each convolution (hidden (2+1)D BatchNorms keep 1e-5).

    Shapes: ``(B, 3, T, H, W) -> (B, num_classes)``; 18-layer stages reduce ``T`` by 8 and ``H, W`` by 16
    (except MC3, whose upper stages keep ``T``).
    """

    def __init__(
        self,
        block: type[BasicBlock],
        convs: Sequence[ConvType],
        layers: Sequence[int],
        stem: nn.Module,
        widths: Sequence[int] = _STAGE_WIDTHS,
        num_classes: int = 400,
        mid_channels: str = "block",
        dropout: float = 0.0,
        zero_init_residual: bool = False,
        stem_pool: bool = False,
        shortcut: str = "conv",
        bn_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if len(convs) != 4 or len(layers) != 4 or len(widths) != 4:
            raise ValueError(f"VideoResNet: convs, layers and widths need 4 entries each, got {convs}, {layers}, {widths}")
        if mid_channels not in ("block", "conv"):
            raise ValueError(f"VideoResNet: mid_channels must be 'block' or 'conv', got {mid_channels!r}")
        if shortcut not in ("conv", "2plus1d"):
            raise ValueError(f"VideoResNet: shortcut must be 'conv' or '2plus1d', got {shortcut!r}")
        self.mid_channels = mid_channels
        self.shortcut = shortcut
        self.stem = stem
        # Identity has no parameters, so the state_dict keys stay torchvision's without the pool.
        self.stem_pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)) if stem_pool else nn.Identity()
        in_channels = widths[0]
        for i, (conv, n, width) in enumerate(zip(convs, layers, widths)):
            stage = self._make_stage(block, conv, in_channels, width, n, stride=1 if i == 0 else 2)
            setattr(self, f"layer{i + 1}", stage)
            in_channels = width * block.expansion
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)
        self._init_weights(zero_init_residual)
        hidden = {id(m[1]) for m in self.modules() if isinstance(m, (Conv2Plus1D, Shortcut2Plus1D, Stem2Plus1D))}
        for m in self.modules():
            if isinstance(m, nn.BatchNorm3d) and id(m) not in hidden:
                m.eps = bn_eps

    def _mids(self, in_channels: int, out_channels: int) -> tuple[int, int]:
        if self.mid_channels == "block":
            m = mid_channels_2plus1d(in_channels, out_channels)
            return (m, m)
        return (mid_channels_2plus1d(in_channels, out_channels), mid_channels_2plus1d(out_channels, out_channels))

    def _make_stage(
        self, block: type[BasicBlock], conv: ConvType, in_channels: int, width: int, n: int, stride: int
    ) -> nn.Sequential:
        out_channels = width * block.expansion
        shortcut = None
        if stride != 1 or in_channels != out_channels:
            if self.shortcut == "2plus1d":
                projection: nn.Module = Shortcut2Plus1D(in_channels, out_channels, stride)
            else:
                projection = nn.Conv3d(in_channels, out_channels, kernel_size=1, stride=conv.shortcut_stride(stride),
                                       bias=False)
            shortcut = nn.Sequential(projection, nn.BatchNorm3d(out_channels))
        blocks = [block(in_channels, width, conv, stride, self._mids(in_channels, width), shortcut)]
        blocks += [block(out_channels, width, conv, 1, self._mids(out_channels, width)) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.conv2[1].weight)

    def forward_features(self, x: Tensor) -> Tensor:
        """``(B, 3, T, H, W) -> (B, C)`` pooled features before the classifier."""
        check_clip(x, 3, type(self).__name__)
        x = self.stem_pool(self.stem(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, T, H, W) -> (B, num_classes)`` logits."""
        return self.fc(self.dropout(self.forward_features(x)))


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


def video_resnet(
    convs: Sequence[str],
    layers: Sequence[int],
    stem: str,
    num_classes: int,
    width: float = 1.0,
    stem_mid: int | None = None,
    **kwargs: Any,
) -> VideoResNet:
    """Build a :class:`VideoResNet` from JSON-friendly names.

    ``convs``: four of ``"3d"``, ``"2d"``, ``"2plus1d"``; ``stem``: ``"3d"`` or ``"2plus1d"``;
    ``width`` multiplies every channel count (1.0 = the paper's 64-128-256-512); ``stem_mid`` sets the
    hidden width of the (2+1)D stem (default 45, scaled by ``width``).
    """
    unknown = [c for c in convs if c not in _CONVS]
    if unknown or stem not in ("3d", "2plus1d"):
        raise ValueError(f"video_resnet: unknown conv/stem type {unknown or stem!r}; use '3d', '2d' or '2plus1d'")
    if width <= 0:
        raise ValueError(f"video_resnet: width must be > 0, got {width}")
    widths = [_scaled(c, width) for c in _STAGE_WIDTHS]
    if stem == "3d":
        stem_module = stem_3d(widths[0])
    else:
        stem_module = stem_2plus1d(widths[0], stem_mid or _scaled(_R2PLUS1D_STEM_MID, width))
    return VideoResNet(
        BasicBlock, [_CONVS[c] for c in convs], list(layers), stem_module, widths, num_classes=num_classes, **kwargs
    )


@register_model("r3d_18", input_shape=(3, 16, 112, 112), family="ResNet3D", paper=_PAPER)
def r3d_18(num_classes: int = 400, **kwargs: Any) -> VideoResNet:
    """R3D-18: 3x3x3 convolutions everywhere; 33.4M parameters at 400 classes (= torchvision ``r3d_18``)."""
    return video_resnet(["3d"] * 4, [2, 2, 2, 2], "3d", num_classes, **kwargs)


@register_model("mc3_18", input_shape=(3, 16, 112, 112), family="ResNet3D", paper=_PAPER)
def mc3_18(num_classes: int = 400, **kwargs: Any) -> VideoResNet:
    """MC3-18: 3D convolutions in the stem and stage 1, spatial-only 1x3x3 above (= torchvision ``mc3_18``)."""
    return video_resnet(["3d", "2d", "2d", "2d"], [2, 2, 2, 2], "3d", num_classes, **kwargs)


@register_model("r2plus1d_18", input_shape=(3, 16, 112, 112), family="ResNet3D", paper=_PAPER)
def r2plus1d_18(num_classes: int = 400, **kwargs: Any) -> VideoResNet:
    """R(2+1)D-18: every 3x3x3 convolution factorised into 1x3x3 + 3x1x1 (= torchvision ``r2plus1d_18``)."""
    return video_resnet(["2plus1d"] * 4, [2, 2, 2, 2], "2plus1d", num_classes, **kwargs)


@register_model("r2plus1d_34", input_shape=(3, 16, 112, 112), family="ResNet3D", paper=_PAPER)
def r2plus1d_34(num_classes: int = 400, **kwargs: Any) -> VideoResNet:
    """R(2+1)D-34: stages of [3, 4, 6, 3] basic blocks, as in the paper's Kinetics/Sports-1M models.

    There is no torchvision counterpart, so the hidden widths follow the paper per convolution
    (``mid_channels="conv"``): 63.70M parameters at 400 classes, vs 63.68M for the R3D-34 it factorises.
    """
    kwargs.setdefault("mid_channels", "conv")
    return video_resnet(["2plus1d"] * 4, [3, 4, 6, 3], "2plus1d", num_classes, **kwargs)


def _small(kind: str, num_classes: int, kwargs: dict[str, Any]) -> VideoResNet:
    convs = {"r3d": ["3d"] * 4, "mc3": ["3d", "2d", "2d", "2d"], "r2plus1d": ["2plus1d"] * 4}[kind]
    stem = "2plus1d" if kind == "r2plus1d" else "3d"
    kwargs = {"width": 0.25, "layers": [1, 1, 1, 1], **kwargs}
    layers = kwargs.pop("layers")
    return video_resnet(convs, layers, stem, num_classes, **kwargs)


@register_model("r2plus1d_small", input_shape=(3, 8, 56, 56), family="ResNet3D", paper=_PAPER)
def r2plus1d_small(num_classes: int = 101, **kwargs: Any) -> VideoResNet:
    """CPU-size R(2+1)D: width 1/4 (16-32-64-128 channels), one block per stage (``layers`` overridable)."""
    return _small("r2plus1d", num_classes, kwargs)


@register_model("r3d_small", input_shape=(3, 8, 56, 56), family="ResNet3D", paper=_PAPER)
def r3d_small(num_classes: int = 101, **kwargs: Any) -> VideoResNet:
    """CPU-size R3D, same widths and depth as ``r2plus1d_small`` (for the paper's R3D vs R(2+1)D comparison)."""
    return _small("r3d", num_classes, kwargs)


@register_model("mc3_small", input_shape=(3, 8, 56, 56), family="ResNet3D", paper=_PAPER)
def mc3_small(num_classes: int = 101, **kwargs: Any) -> VideoResNet:
    """CPU-size MC3, same widths and depth as ``r2plus1d_small``."""
    return _small("mc3", num_classes, kwargs)
