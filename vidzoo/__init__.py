"""vidzoo: classic video action-recognition families, one shared trainer, Hydra configs.

The public surface::

    from vidzoo import build_model, list_models, load_model
    model, class_names, preprocessing = load_model("runs/my-run")
    clips = load_clips("video.mp4", preprocessing)   # (V, C, T, H, W), the checkpoint's own preprocessing
"""

from vidzoo.data.clips import load_clips
from vidzoo.engine.loading import LoadedModel, load_model
from vidzoo.models.registry import build_model, list_models

__all__ = ["LoadedModel", "build_model", "list_models", "load_clips", "load_model"]
__version__ = "0.1.0"
