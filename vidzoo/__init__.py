"""vidzoo: classic video action-recognition families, one shared trainer, Hydra configs.

The public surface::

    from vidzoo import build_model, list_models, load_model
    model, class_names, preprocessing = load_model("runs/my-run")
    clips = load_clips("video.mp4", preprocessing)   # (V, C, T, H, W), the checkpoint's own preprocessing
    import_weights("torchvision", "r2plus1d_18-91a641e6.pth", "imported/r2plus1d_18")   # published weights

The names are resolved on first use (PEP 562), so subpackages that need no torch
(``vidzoo.eval``) import without it.
"""

from __future__ import annotations

from vidzoo.lazy import lazy_names

__all__ = ["LoadedModel", "build_model", "import_weights", "list_models", "load_clips", "load_model"]
__version__ = "0.1.0"

_LAZY = {
    "LoadedModel": "vidzoo.engine.model_loading",
    "load_model": "vidzoo.engine.model_loading",
    "build_model": "vidzoo.models.registry",
    "list_models": "vidzoo.models.registry",
    "load_clips": "vidzoo.data.clips",
    "import_weights": "vidzoo.interop.importing",
}
__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
