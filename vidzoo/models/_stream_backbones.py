"""2D backbones for the two-stream family, behind one small interface, plus fitting given weights to them.

Every backbone maps ``(B, C_in, H, W)`` to logits and also exposes its last conv map
(:func:`backbone_features`, before the final pooling) and ``head(x)`` (pooling + classifier),
which the fusion models need. ResNets additionally expose ``stem`` and ``layer1..4`` for the residual
two-stream model. Parameter names equal torchvision's, so the state dict of an ImageNet checkpoint saved
from torchvision fits :func:`load_backbone_weights` directly. Nothing here reads files: the engine reads a
``*_weights`` file named in the config and passes its tensors to the builder.

Backbones: ``cnn_m_2048`` (Simonyan & Zisserman 2014), ``resnet18``, ``resnet50``, ``vgg16``
(torchvision architectures, ``weights=None``), ``small`` (a 4-stage, 16-128 channel ResNet for CPU runs) and
``small2`` (the same with two units per stage).
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch import Tensor, nn
from torchvision.models import resnet as tv_resnet
from torchvision.models import vgg as tv_vgg

from vidzoo.models.cnn_m import CNNM2048

BACKBONES = ("cnn_m_2048", "resnet18", "resnet50", "vgg16", "small", "small2")


def _replace_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    if conv.in_channels == in_channels:
        return conv
    return nn.Conv2d(
        in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None
    )


class ResNetBackbone(tv_resnet.ResNet):
    """torchvision ResNet with ``in_channels`` inputs and dropout before ``fc`` (TSN-style regularisation)."""

    first_conv = "conv1"
    final_layer = "fc"
    pool5_window = (1, 1, False)  # (window, stride, ceil_mode) of the 2D pooling that a fusion's 3D pooling replaces

    def __init__(self, block, layers, in_channels: int, num_classes: int, dropout: float) -> None:
        super().__init__(block, layers, num_classes=num_classes)
        self.conv1 = _replace_first_conv(self.conv1, in_channels)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.drop = nn.Dropout(dropout)
        self.out_channels = self.fc.in_features

    def stem(self, x: Tensor) -> Tensor:
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    @property
    def stages(self) -> list[nn.Module]:
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def features(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x

    def head(self, x: Tensor) -> Tensor:
        return self.fc(self.drop(torch.flatten(self.avgpool(x), 1)))

    def classify(self, x: Tensor) -> Tensor:
        """The head after ``pool5`` (a ResNet has none: global average pooling and ``fc``)."""
        return self.head(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class SmallResNet(ResNetBackbone):
    """CPU-sized ResNet: 5x5 stride-2 stem (no max-pool) and ``blocks`` BasicBlocks per stage, widths 16-32-64-128."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float, widths=(16, 32, 64, 128),
                 blocks: int = 1) -> None:
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.dilation, self.groups, self.base_width = 1, 1, 64
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 5, stride=2, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self.layer1 = self._make_layer(tv_resnet.BasicBlock, widths[0], blocks)
        self.layer2 = self._make_layer(tv_resnet.BasicBlock, widths[1], blocks, stride=2)
        self.layer3 = self._make_layer(tv_resnet.BasicBlock, widths[2], blocks, stride=2)
        self.layer4 = self._make_layer(tv_resnet.BasicBlock, widths[3], blocks, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(widths[3], num_classes)
        self.out_channels = widths[3]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class VGG16Backbone(tv_vgg.VGG):
    """torchvision VGG-16 (configuration D, no BN) with ``in_channels`` inputs; ``features`` ends at conv5_3's ReLU."""

    first_conv = "features.0"
    final_layer = "classifier.6"
    pool5_window = (2, 2, False)

    def __init__(self, in_channels: int, num_classes: int, dropout: float) -> None:
        super().__init__(tv_vgg.make_layers(tv_vgg.cfgs["D"]), num_classes=num_classes, dropout=dropout)
        self.features[0] = _replace_first_conv(self.features[0], in_channels)
        nn.init.kaiming_normal_(self.features[0].weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.features[0].bias)
        self.out_channels = 512

    def conv_features(self, x: Tensor) -> Tensor:
        for layer in self.features[:-1]:  # everything but pool5
            x = layer(x)
        return x

    def head(self, x: Tensor) -> Tensor:
        return self.classify(self.features[-1](x))

    def classify(self, x: Tensor) -> Tensor:
        """The head after pool5: fc6, fc7 and the classifier."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.conv_features(x))


class CNNMBackbone(CNNM2048):
    """:class:`~vidzoo.models.cnn_m.CNNM2048` with the backbone interface."""

    first_conv = "conv1.0"
    final_layer = "classifier.7"
    pool5_window = (3, 2, True)

    def classify(self, x: Tensor) -> Tensor:
        """The head after pool5's max pooling: full6, full7 and the classifier."""
        return self.classifier(self.pool5[1](x))


def build_backbone(name: str, in_channels: int, num_classes: int, dropout: float = 0.5, temporal: bool = False) -> nn.Module:
    """Build backbone ``name`` for ``in_channels`` inputs (3 for RGB, 2L for a flow stack)."""
    if name == "cnn_m_2048":
        return CNNMBackbone(in_channels, num_classes, norm2=not temporal, dropout=dropout)
    if name == "resnet18":
        return ResNetBackbone(tv_resnet.BasicBlock, [2, 2, 2, 2], in_channels, num_classes, dropout)
    if name == "resnet50":
        return ResNetBackbone(tv_resnet.Bottleneck, [3, 4, 6, 3], in_channels, num_classes, dropout)
    if name == "vgg16":
        return VGG16Backbone(in_channels, num_classes, dropout)
    if name in ("small", "small2"):  # small2: two blocks per stage (ST-ResNet's links need a second unit)
        return SmallResNet(in_channels, num_classes, dropout, blocks=2 if name == "small2" else 1)
    raise ValueError(f"unknown two-stream backbone {name!r}; choose one of: {', '.join(BACKBONES)}")


def backbone_features(backbone: nn.Module) -> Callable[[Tensor], Tensor]:
    """The function giving a backbone's last conv map."""
    return backbone.conv_features if isinstance(backbone, VGG16Backbone) else backbone.features


# ---------------------------------------------------------------------------------------------- weights


class BackboneWeightsError(ValueError):
    """Backbone weights do not fit the backbone; the message names where they came from."""


def cross_modality_weight(rgb_weight: Tensor, in_channels: int) -> Tensor:
    """Cross-modality initialisation (Wang et al. 2016): average an RGB first-conv kernel
    ``(O, 3, k, k)`` over its input channels and replicate it ``in_channels`` (2L) times."""
    if rgb_weight.dim() != 4:
        raise ValueError(f"expected a conv kernel (O, C, k, k), got shape {tuple(rgb_weight.shape)}")
    return rgb_weight.mean(dim=1, keepdim=True).repeat(1, in_channels, 1, 1).contiguous()


def load_backbone_weights(
    backbone: nn.Module, weights: Mapping[str, Tensor], strip_prefix: str = "", source: str = "backbone_weights"
) -> list[str]:
    """Load a state dict (read by the engine, e.g. an ImageNet checkpoint) into ``backbone``; return the keys
    left at their fresh initialisation.

    Rules: every parameter/buffer must be present with its shape, except (a) the final classifier
    layer, kept fresh when its shape differs (ImageNet's 1000 classes), and (b) the first conv,
    converted by :func:`cross_modality_weight` when the file holds RGB (3-channel) kernels and the
    backbone takes another channel count. Anything else raises :class:`BackboneWeightsError`
    naming ``source`` (the file it came from) and the first offending keys. ``strip_prefix`` removes a key
    prefix first (e.g. ``"backbone."`` for a saved stream model).
    """
    state = {k.removeprefix(strip_prefix): v for k, v in weights.items() if k.startswith(strip_prefix)}
    own = backbone.state_dict()
    first = f"{backbone.first_conv}.weight"
    final = (f"{backbone.final_layer}.weight", f"{backbone.final_layer}.bias")
    new, missing, mismatched, fresh = {}, [], [], []
    for key, target in own.items():
        if key not in state:
            (fresh if key in final else missing).append(key)
            continue
        value = state[key]
        if value.shape == target.shape:
            new[key] = value
        elif key == first and value.dim() == 4 and value.shape[1] == 3 and value.shape[0] == target.shape[0]:
            new[key] = cross_modality_weight(value, target.shape[1])
        elif key in final:
            fresh.append(key)
        else:
            mismatched.append(f"{key} {tuple(value.shape)} vs {tuple(target.shape)}")
    unexpected = sorted(set(state) - set(own))
    if missing or mismatched or unexpected:
        parts = [
            f"{label} ({len(items)}): {', '.join(items[:4])}{' ...' if len(items) > 4 else ''}"
            for label, items in (("missing", missing), ("shape mismatch", mismatched), ("unexpected", unexpected))
            if items
        ]
        raise BackboneWeightsError(
            f"{source}: weights do not fit backbone {type(backbone).__name__}; " + "; ".join(parts)
            + " (is it the checkpoint of the same architecture?)"
        )
    backbone.load_state_dict(new, strict=False)
    return fresh
