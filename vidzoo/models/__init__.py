"""Model families. Importing this package registers every builder in the registry.

Each family lives in its own module (``c3d.py``, ``resnet3d.py``, ...); every module in
this package is imported here so that its ``@register_model`` builders are known.
"""

import importlib
import pkgutil

from vidzoo.models.registry import ModelInfo, build_model, get_model_info, list_models, register_model

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "registry" and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["ModelInfo", "build_model", "get_model_info", "list_models", "register_model"]
