"""The model configs of the 3D-CNN family compose with the schema, name a registered model, and set clips that
match the model's native input (frames and crop)."""

from __future__ import annotations

import pytest
import torch

from vidzoo.cli import compose_or_explain
from vidzoo.models import build_model, get_model_info

CONFIGS = ["single_frame_small", "single_frame", "c3d_small", "c3d", "r2plus1d_small", "r3d_small", "mc3_small",
           "r2plus1d_18", "r2plus1d_34", "r3d_18", "mc3_18", "fstcn_small", "fstcn"]


@pytest.mark.parametrize("model", CONFIGS)
def test_model_config(model: str) -> None:
    cfg = compose_or_explain([f"model={model}"])
    assert cfg.model.name == model
    info = get_model_info(model)
    assert (cfg.data.num_frames, cfg.data.crop_size, cfg.data.crop_size) == info.input_shape[1:]
    assert cfg.data.resize >= cfg.data.crop_size
    with torch.device("meta"):
        net = build_model(cfg.model.name, num_classes=9, **cfg.model.kwargs)
        assert net(torch.empty(1, *info.input_shape)).shape == (1, 9)
