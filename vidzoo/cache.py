"""Where vidzoo keeps what it generates for itself (synthetic datasets, benchmark videos)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """``$VIDZOO_CACHE`` if set, else ``~/.cache/vidzoo``: a per-user folder, never a shared /tmp path."""
    return Path(os.environ.get("VIDZOO_CACHE") or Path.home() / ".cache" / "vidzoo").expanduser()
