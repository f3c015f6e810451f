"""One importer per source of published weights; each turns a state dict into an :class:`ImportPlan`."""

from __future__ import annotations

from types import ModuleType

from vidzoo.interop.reading import WeightsImportError
from vidzoo.interop.sources import c3d_pickle, mmaction2, pytorchvideo, torchvision
from vidzoo.interop.sources.base import ImportPlan

SOURCES: dict[str, ModuleType] = {
    "torchvision": torchvision,
    "mmaction2": mmaction2,
    "c3d-pickle": c3d_pickle,
    "pytorchvideo": pytorchvideo,
}


def get_source(name: str) -> ModuleType:
    """The importer module for ``name`` (its ``plan(state, model)`` builds the :class:`ImportPlan`)."""
    try:
        return SOURCES[name]
    except KeyError:
        raise WeightsImportError(f"unknown source {name!r}; choose one of: {', '.join(SOURCES)}") from None


__all__ = ["ImportPlan", "SOURCES", "get_source"]
