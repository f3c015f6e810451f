"""Video decoding backends behind one small protocol, chosen by name.

``build_decoder("pyav")`` returns an object with ``num_frames(path)``, ``fps(path)`` and
``decode(path, indices) -> np.ndarray`` (uint8 ``(T, H, W, 3)`` RGB; float32 ``(T, H, W, 2)`` for the flow
backend). Backend modules are imported lazily, so an optional dependency (decord, torchcodec) is only needed
when that backend is used. A backend registers itself with ``@register_decoder(name)``. What the video backends
agree on (which files are valid, what frame ``i`` is, when a file is truncated) is defined once in ``_common``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "BACKEND_MODULES",
    "Decoder",
    "VideoDecodeError",
    "available_decoders",
    "build_decoder",
    "register_decoder",
]


class VideoDecodeError(RuntimeError):
    """A video cannot be opened or decoded. ``str(err)`` is ``"<path>: <reason>"``."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = str(path)
        self.reason = str(reason)
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self):  # picklable across DataLoader worker processes
        return (type(self), (self.path, self.reason))


@runtime_checkable
class Decoder(Protocol):
    """What every decoding backend provides."""

    def num_frames(self, path: str) -> int:
        """Number of frames in the video (what indices may range over)."""

    def fps(self, path: str) -> float:
        """Frames per second."""

    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` (any order, repeats allowed) as ``(len(indices), H, W, C)``."""


#: Backend name -> module that registers it on import.
BACKEND_MODULES: dict[str, str] = {
    "pyav": "vidzoo.data.decoding.pyav",
    "opencv": "vidzoo.data.decoding.opencv",
    "decord": "vidzoo.data.decoding.decord",
    "torchcodec": "vidzoo.data.decoding.torchcodec",
    "frames": "vidzoo.data.decoding.frames",
    "flow": "vidzoo.data.decoding.flow",
    "flow_frames": "vidzoo.data.decoding.flow",
}

_REGISTRY: dict[str, Callable[..., Decoder]] = {}


def register_decoder(name: str) -> Callable[[Callable[..., Decoder]], Callable[..., Decoder]]:
    """Class/factory decorator: make ``build_decoder(name, **kw)`` call the decorated object with ``**kw``."""

    def wrap(factory: Callable[..., Decoder]) -> Callable[..., Decoder]:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise KeyError(f"decoder {name!r} is already registered by {_REGISTRY[name]!r}")
        _REGISTRY[name] = factory
        return factory

    return wrap


def available_decoders() -> list[str]:
    """All known backend names (registered or importable on demand)."""
    return sorted(set(BACKEND_MODULES) | set(_REGISTRY))


def build_decoder(name: str, **kwargs: Any) -> Decoder:
    """Instantiate the decoding backend ``name`` (e.g. ``"pyav"``) with backend-specific ``kwargs``."""
    if name not in _REGISTRY:
        module = BACKEND_MODULES.get(name)
        if module is None:
            raise KeyError(f"unknown decoder {name!r}; choose one of: {', '.join(available_decoders())}")
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ImportError(
                f"decoder {name!r} needs module {module} which failed to import ({err}); "
                f"install its dependency or pick another decoder: {', '.join(available_decoders())}"
            ) from err
        if name not in _REGISTRY:
            raise KeyError(f"module {module} did not register a decoder named {name!r}")
    return _REGISTRY[name](**kwargs)
