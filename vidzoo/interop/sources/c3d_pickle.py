"""The Sports-1M C3D port ``c3d.pickle`` (c3d-pytorch): keys ``conv1.weight`` ... ``conv5b.bias``, ``fc6`` ... ``fc8``.

The port is a flat module (conv1, pool1, ..., fc8, 487 classes) whose pool5 pads H and W by one
(``pool5_padding=(0, 1, 1)`` in the zoo's C3D). The weights are Caffe's: trained on BGR frames (OpenCV) of
128x171 px, centre crop 112, 16 consecutive frames; the port feeds raw 0-255 values (no mean removed).
"""

from __future__ import annotations

import torch

from vidzoo.interop.sources.base import ImportPlan, check_model_choice, preprocessing

RULES = (
    (r"(conv[12])\.(weight|bias)", r"features.\1.0.\2"),
    (r"(conv[345][ab])\.(weight|bias)", r"features.\1.0.\2"),
    (r"(fc[678])\.(weight|bias)", r"\1.\2"),
)
PORT_KWARGS = {"pool5_padding": [0, 1, 1]}


def plan(state: dict[str, torch.Tensor], model: str | None) -> ImportPlan:
    """The import plan for a ``c3d.pickle``-shaped state dict."""
    name = check_model_choice(model, "c3d", ("c3d",), "c3d-pickle")
    prep = preprocessing((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), scale=255.0, resize=128, crop_size=112, num_frames=16,
                         stride=1, channel_order="bgr", source="C3D Sports-1M (Caffe port c3d.pickle)")
    return ImportPlan(name, RULES, ("fc8.weight", "fc8.bias"), prep, dict(PORT_KWARGS))
