"""Name -> builder registry: the only way configs and tools construct models.

A builder is a plain function ``builder(num_classes=..., **kwargs) -> nn.Module``.
Registering it records the model's native input so tools (model card,
benchmarks, load_model) can make a correctly shaped dummy input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from torch import nn

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model variant.

    ``input_shape`` is the native per-sample input, ``(C, T, H, W)`` for clip
    models; ``inputs`` names the modalities a model reads ("rgb", "flow").
    """

    name: str
    builder: Builder
    input_shape: tuple[int, ...]
    inputs: tuple[str, ...] = ("rgb",)
    family: str = ""
    paper: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str | None = None,
    *,
    input_shape: tuple[int, ...] = (3, 16, 112, 112),
    inputs: tuple[str, ...] = ("rgb",),
    family: str = "",
    paper: str = "",
    **extra: Any,
) -> Callable[[Builder], Builder]:
    """Decorator that registers a builder under ``name`` (default: function name)."""

    def wrap(fn: Builder) -> Builder:
        key = name or fn.__name__
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} is registered twice")
        _REGISTRY[key] = ModelInfo(key, fn, tuple(input_shape), tuple(inputs), family, paper, dict(extra))
        return fn

    return wrap


class UnknownModelError(KeyError):
    """Raised for a model name that is not registered; the message lists the choices."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _ensure_loaded() -> None:
    # Importing the package registers every family.
    import vidzoo.models  # noqa: F401


def get_model_info(name: str) -> ModelInfo:
    """Return the registry entry for ``name`` or raise with the list of choices."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        choices = ", ".join(sorted(_REGISTRY))
        raise UnknownModelError(f"unknown model {name!r}; choose one of: {choices}") from None


def build_model(name: str, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` with ``num_classes`` outputs."""
    return get_model_info(name).builder(num_classes=num_classes, **kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of registered models matching a shell-style ``pattern``."""
    from fnmatch import fnmatch

    _ensure_loaded()
    return sorted(n for n in _REGISTRY if fnmatch(n, pattern))
