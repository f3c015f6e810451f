"""vidzoo: classic video action-recognition families, one shared trainer, Hydra configs.

The public surface::

    from vidzoo import build_model, list_models, load_model
    model, class_names, preprocessing = load_model("runs/my-run")
    import_weights("torchvision", "r2plus1d_18-91a641e6.pth", "imported/r2plus1d_18")   # published weights
"""

from vidzoo.engine.loading import LoadedModel, load_model
from vidzoo.interop.importing import import_weights
from vidzoo.models.registry import build_model, list_models

__all__ = ["LoadedModel", "build_model", "import_weights", "list_models", "load_model"]
__version__ = "0.1.0"
