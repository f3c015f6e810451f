"""pytorchvideo checkpoints (``{"model_state": ...}``, keys ``blocks.<i>. ...``): recognised, and matched against the zoo.

pytorchvideo's model zoo holds bottleneck ResNets (slow_r50, c2d_r50, i3d_r50, r2plus1d_r50, csn_r101),
SlowFast, X3D and MViT; the zoo's ResNets are basic-block networks (R3D/MC3/R(2+1)D-18/34), so none of
pytorchvideo's published architectures has a zoo counterpart. :func:`plan` names the architecture the file
holds and the first key that has no counterpart, rather than loading a partial model.
"""

from __future__ import annotations

import torch

from vidzoo.interop.reading import WeightsImportError
from vidzoo.interop.sources.base import ImportPlan

#: (key fragment, what it identifies), checked in order.
SIGNATURES = (
    ("multipathway_blocks", "SlowFast (two pathways)"),
    ("patch_embed", "MViT (vision transformer)"),
    ("conv_xy", "X3D"),
    ("branch2.conv_b", "bottleneck ResNet (slow/c2d/i3d/r2plus1d_r50/csn)"),
)


def identify(state: dict[str, torch.Tensor]) -> tuple[str, str]:
    """``(architecture, first key that shows it)`` of a pytorchvideo state dict."""
    for fragment, arch in SIGNATURES:
        key = next((k for k in state if fragment in k), None)
        if key is not None:
            return arch, key
    return "unknown pytorchvideo network", next(iter(state))


def plan(state: dict[str, torch.Tensor], model: str | None) -> ImportPlan:
    """Always refuses with the reason: no pytorchvideo architecture has a zoo counterpart (module docstring)."""
    arch, key = identify(state)
    raise WeightsImportError(
        f"pytorchvideo: key {key!r} belongs to a {arch}, which has no architecture in the zoo (its ResNets are "
        "basic-block R3D/MC3/R(2+1)D-18/34); import torchvision's or MMAction2's weights of those instead"
    )
