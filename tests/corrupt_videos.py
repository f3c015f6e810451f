"""Broken video files for the tests of decoding errors and of runs that must survive them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from vidzoo.data.synthetic import render_motion_video, write_video


def write_corrupt_video(path: str | Path, kind: str = "truncated", *, source: str | Path | None = None) -> Path:
    """Write a deliberately broken video: ``"empty"`` (0 bytes), ``"garbage"`` (random bytes with an
    .avi name), ``"truncated"`` (the first 40% of ``source`` or of a freshly encoded clip, cut mid-stream) or
    ``"header"`` (only the first 300 bytes, the container header cut short)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    elif kind in ("truncated", "header"):
        if source is None:
            with tempfile.TemporaryDirectory() as d:
                src = Path(d) / "src.avi"
                write_video(src, render_motion_video("Still", np.random.default_rng(0), num_frames=32))
                data = src.read_bytes()
        else:
            data = Path(source).read_bytes()
        path.write_bytes(data[: int(len(data) * 0.4)] if kind == "truncated" else data[:300])
    else:
        raise ValueError(f"unknown corruption kind {kind!r}; choose empty, garbage, truncated or header")
    return path
