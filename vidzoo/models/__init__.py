"""Model families. Importing this package registers every builder in the registry."""

from vidzoo.models.registry import ModelInfo, build_model, get_model_info, list_models, register_model

__all__ = ["ModelInfo", "build_model", "get_model_info", "list_models", "register_model"]
