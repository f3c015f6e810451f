"""MMAction2 checkpoints of C3D (Sports-1M pre-trained, UCF101 fine-tuned) and R(2+1)D-34.

MMAction2 saves ``{"meta": ..., "state_dict": ...}`` with ``backbone.`` and ``cls_head.`` prefixes (a
pre-training file may hold the bare backbone). Its layers are ``ConvModule``s (``<name>.conv``, ``<name>.bn``);
a (2+1)D convolution is ``conv_s``, ``bn_s``, ``conv_t``.

* C3D: ``conv1a.conv`` ... ``conv5b.conv``, ``fc6``, ``fc7``, head ``cls_head.fc_cls``; pool5 pads H and W by
  one (``pool5_padding=(0, 1, 1)``). Preprocessing of its UCF101 config: short side 128, centre crop 112,
  16 consecutive frames, mean (104, 117, 128) and std 1 on 0-255 RGB.
* R(2+1)D-34: ``ResNet2Plus1d`` depth 34, built in the zoo as ``r2plus1d_34`` with ``stem_mid=83``,
  ``stem_pool=True``, ``shortcut="2plus1d"``, ``bn_eps=1e-3`` (see :mod:`vidzoo.models.resnet3d`).
  Preprocessing of its 8x8x1 Kinetics-400 config: short side 256, centre crop 224, 8 frames at stride 8,
  ImageNet mean/std on 0-255 RGB.
"""

from __future__ import annotations

import torch

from vidzoo.interop.reading import WeightsImportError
from vidzoo.interop.sources.base import ImportPlan, check_model_choice, preprocessing

_B = r"(?:backbone\.)?"
_DROP = (r"data_preprocessor\..*", None)
C3D_RULES = (
    (_B + r"conv1a\.conv\.(weight|bias)", r"features.conv1.0.\1"),
    (_B + r"conv2a\.conv\.(weight|bias)", r"features.conv2.0.\1"),
    (_B + r"(conv[345][ab])\.conv\.(weight|bias)", r"features.\1.0.\2"),
    (_B + r"(fc[67])\.(weight|bias)", r"\1.\2"),
    (r"cls_head\.fc_cls\.(weight|bias)", r"fc8.\1"),
    _DROP,
)
_CONV = _B + r"(layer\d\.\d+\.conv[12])"
_DOWN = _B + r"(layer\d\.\d+)\.downsample"
R2PLUS1D_RULES = (
    (_B + r"conv1\.conv\.conv_s\.weight", "stem.0.weight"),
    (_B + r"conv1\.conv\.bn_s\.(\w+)", r"stem.1.\1"),
    (_B + r"conv1\.conv\.conv_t\.weight", "stem.3.weight"),
    (_B + r"conv1\.bn\.(\w+)", r"stem.4.\1"),
    (_CONV + r"\.conv\.conv_s\.weight", r"\1.0.0.weight"),
    (_CONV + r"\.conv\.bn_s\.(\w+)", r"\1.0.1.\2"),
    (_CONV + r"\.conv\.conv_t\.weight", r"\1.0.3.weight"),
    (_CONV + r"\.bn\.(\w+)", r"\1.1.\2"),
    (_DOWN + r"\.conv\.conv_s\.weight", r"\1.downsample.0.0.weight"),
    (_DOWN + r"\.conv\.bn_s\.(\w+)", r"\1.downsample.0.1.\2"),
    (_DOWN + r"\.conv\.conv_t\.weight", r"\1.downsample.0.3.weight"),
    (_DOWN + r"\.bn\.(\w+)", r"\1.downsample.1.\2"),
    (r"cls_head\.fc_cls\.(weight|bias)", r"fc.\1"),
    _DROP,
)
R2PLUS1D_KWARGS = {"stem_mid": 83, "stem_pool": True, "shortcut": "2plus1d", "bn_eps": 1e-3}
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def _has(state: dict[str, torch.Tensor], suffix: str) -> bool:
    return any(k == suffix or k.endswith("." + suffix) for k in state)


def plan(state: dict[str, torch.Tensor], model: str | None) -> ImportPlan:
    """The import plan for an MMAction2 C3D or R(2+1)D-34 state dict (told apart by their first layer)."""
    if _has(state, "conv1a.conv.weight"):
        name = check_model_choice(model, "c3d", ("c3d",), "mmaction2")
        prep = preprocessing((104.0, 117.0, 128.0), (1.0, 1.0, 1.0), scale=255.0, resize=128, crop_size=112,
                             num_frames=16, stride=1, source="MMAction2 C3D (Sports-1M pre-trained)")
        return ImportPlan(name, C3D_RULES, ("fc8.weight", "fc8.bias"), prep, {"pool5_padding": [0, 1, 1]})
    if _has(state, "conv1.conv.conv_s.weight"):
        if not _has(state, "layer3.5.conv1.conv.conv_s.weight") or _has(state, "layer3.6.conv1.conv.conv_s.weight"):
            raise WeightsImportError("mmaction2: this ResNet2Plus1d is not depth 34 (layer3 does not have 6 blocks); "
                                     "the zoo imports MMAction2's R(2+1)D-34 only")
        name = check_model_choice(model, "r2plus1d_34", ("r2plus1d_34",), "mmaction2")
        prep = preprocessing(IMAGENET_MEAN, IMAGENET_STD, scale=255.0, resize=256, crop_size=224, num_frames=8,
                             stride=8, source="MMAction2 R(2+1)D-34 8x8x1 Kinetics-400")
        return ImportPlan(name, R2PLUS1D_RULES, ("fc.weight", "fc.bias"), prep, dict(R2PLUS1D_KWARGS))
    first = next(iter(state))
    raise WeightsImportError(f"mmaction2: key {first!r} is neither MMAction2's C3D (conv1a.conv) nor its "
                             "R(2+1)D (conv1.conv.conv_s); the zoo imports those two MMAction2 models")
