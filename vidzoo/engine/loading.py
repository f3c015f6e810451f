"""``load_model``: a trained checkpoint back into plain Python, with no Hydra and no pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from vidzoo.engine import checkpoint as ckpt
from vidzoo.models.registry import build_model


class LoadedModel(NamedTuple):
    """What :func:`load_model` returns: unpack as ``model, class_names, preprocessing = load_model(path)``."""

    model: nn.Module
    class_names: list[str]
    preprocessing: dict[str, Any]


def load_model(path: str | Path, which: str = "best", device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the model saved at ``path`` and load its weights; the model is returned in eval mode.

    ``path`` is a run directory (``which`` picks its ``best`` or ``last`` checkpoint), a
    checkpoint directory or its ``model.safetensors``. ``preprocessing`` holds what the
    model expects: mean/std, resize, crop size, num_frames, stride, modality.
    """
    ckpt_dir = ckpt.resolve_checkpoint(path, which)
    meta = ckpt.read_meta(ckpt_dir)
    spec = meta.get("model")
    if not spec or "name" not in spec:
        raise ckpt.CheckpointError(f"{ckpt_dir / ckpt.META_FILE} has no 'model' entry; it was not written by vidzoo")
    model = build_model(spec["name"], num_classes=spec["num_classes"], **spec.get("kwargs", {}))
    ckpt.load_state_into(model, ckpt.load_weights(ckpt_dir, device), str(ckpt_dir), spec["name"])
    model.to(device).eval()
    return LoadedModel(model, list(meta.get("class_names", [])), dict(meta.get("preprocessing", {})))
