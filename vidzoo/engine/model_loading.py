"""``load_model``: a trained checkpoint back into plain Python, with no Hydra and no pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.ckpt_files import checkpoint_file
from vidzoo.engine.ckpt_meta import check_model_spec, inference_kwargs, state_problems, weights_header
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
    name, num_classes, kwargs = check_model_spec(meta, ckpt_dir / ckpt.META_FILE)
    model = build_checked_model(ckpt_dir, name, num_classes, inference_kwargs(kwargs))
    ckpt.load_state_into(model, ckpt.load_weights(ckpt_dir, device), str(ckpt_dir), name)
    model.to(device).eval()
    return LoadedModel(model, list(meta.get("class_names", [])), dict(meta.get("preprocessing", {})))


def build_checked_model(ckpt_dir: Path, name: str, num_classes: int, kwargs: dict[str, Any]) -> nn.Module:
    """Build ``name`` only once its skeleton (built on the ``meta`` device, no memory) matches the names,
    shapes and dtypes in ``model.safetensors``: the model then takes no more memory than the file holds."""
    weights = checkpoint_file(ckpt_dir, ckpt.MODEL_FILE)
    try:
        with torch.device("meta"):
            skeleton = build_model(name, num_classes=num_classes, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ckpt.CheckpointError(f"{ckpt_dir / ckpt.META_FILE}: field 'model.kwargs' does not build model {name!r} "
                                   f"({str(exc).splitlines()[0]}); pick another checkpoint") from None
    problems = state_problems(skeleton.state_dict(), weights_header(weights))
    if problems:
        raise ckpt.CheckpointError(
            f"{weights} does not fit model {name!r} as {ckpt.META_FILE} describes it (model.num_classes, "
            f"model.kwargs): " + "; ".join(problems) + " - pick another checkpoint"
        )
    return build_model(name, num_classes=num_classes, **kwargs)
