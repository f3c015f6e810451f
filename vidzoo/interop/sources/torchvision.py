"""torchvision's video ResNets (``r3d_18``, ``mc3_18``, ``r2plus1d_18`` ``.pth`` files): the zoo's own layout.

The zoo builds these networks with torchvision's module names, so the key map is the identity; the model is
told apart by its keys (a (2+1)D stem has ``stem.3``; MC3's upper stages have 1x3x3 kernels).
Preprocessing is that of torchvision's Kinetics-400 weights: resize to 128 px (short side), centre crop 112,
Kinetics mean/std, 16-frame clips sampled at 15 fps (stride 2 at 30 fps).
"""

from __future__ import annotations

import torch

from vidzoo.interop.keymap import IDENTITY
from vidzoo.interop.sources.base import ImportPlan, check_model_choice, preprocessing

MODELS = ("r3d_18", "mc3_18", "r2plus1d_18")
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


def detect(state: dict[str, torch.Tensor]) -> str:
    """Which of :data:`MODELS` the state dict comes from."""
    if "stem.3.weight" in state:
        return "r2plus1d_18"
    conv = state.get("layer2.0.conv1.0.weight")
    return "mc3_18" if conv is not None and conv.dim() == 5 and conv.shape[2] == 1 else "r3d_18"


def plan(state: dict[str, torch.Tensor], model: str | None) -> ImportPlan:
    """The import plan for a torchvision video ResNet state dict."""
    name = check_model_choice(model, detect(state), MODELS, "torchvision")
    prep = preprocessing(KINETICS_MEAN, KINETICS_STD, scale=1.0, resize=128, crop_size=112, num_frames=16, stride=2,
                         fps=15, source="torchvision Kinetics-400")
    return ImportPlan(name, IDENTITY, ("fc.weight", "fc.bias"), prep)
