"""Names of a package resolved on first use (PEP 562), so importing the package imports none of its heavy modules."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_names(package: str, table: dict[str, str], namespace: dict[str, Any]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``table`` maps each public name to the module that defines it.

    A resolved name is stored in ``namespace`` (the package's globals), so each module is imported once."""

    def __getattr__(name: str) -> Any:
        if name in table:
            value = getattr(importlib.import_module(table[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
