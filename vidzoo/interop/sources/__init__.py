"""One importer per source of published weights; each turns a state dict into an :class:`ImportPlan`.

``SOURCES`` names each source's module; the module (and torch) is imported by :func:`get_source`, so the command
line lists and checks the sources without importing torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType

SOURCES: dict[str, str] = {
    "torchvision": "vidzoo.interop.sources.torchvision",
    "mmaction2": "vidzoo.interop.sources.mmaction2",
    "c3d-pickle": "vidzoo.interop.sources.c3d_pickle",
    "pytorchvideo": "vidzoo.interop.sources.pytorchvideo",
}


def get_source(name: str) -> ModuleType:
    """The importer module for ``name`` (its ``plan(state, model)`` builds the :class:`ImportPlan`)."""
    if name not in SOURCES:
        from vidzoo.interop.reading import WeightsImportError

        raise WeightsImportError(f"unknown source {name!r}; choose one of: {', '.join(SOURCES)}")
    return importlib.import_module(SOURCES[name])


__all__ = ["SOURCES", "get_source"]
