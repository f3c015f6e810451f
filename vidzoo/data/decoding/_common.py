"""Small pieces the opencv/decord/torchcodec/frames backends share: file checks, index handling, metadata cache."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from vidzoo.data.decoding import VideoDecodeError


def check_file(path: str) -> None:
    """Raise :class:`VideoDecodeError` for a missing or zero-byte file (before a library prints C++ noise)."""
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "empty file (0 bytes)")


def wanted_indices(path: str, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(idx, wanted)``: the requested indices as int64 and their sorted unique values; checks their range."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size == 0:
        raise ValueError(f"{path}: decode() needs at least one frame index")
    if idx.min() < 0:
        raise ValueError(f"{path}: negative frame index {int(idx.min())}")
    return idx, np.unique(idx)


def gather(path: str, idx: np.ndarray, got: dict[int, np.ndarray]) -> np.ndarray:
    """Stack ``got[i]`` for ``i`` in ``idx``; an index past the last frame reached gets that last frame."""
    if not got:
        raise VideoDecodeError(path, "no decodable video frames")
    last = got[max(got)]
    return np.stack([got.get(int(i), last) if int(i) > max(got) else got[int(i)] for i in idx])


class MetadataCache:
    """Per-process cache ``path -> (num_frames, fps)``; dropped when pickled into DataLoader workers."""

    def __init__(self, probe: Callable[[str], tuple[int, float]]) -> None:
        self._probe = probe
        self._meta: dict[str, tuple[int, float]] = {}

    def __getstate__(self) -> dict:
        return {"_probe": self._probe, "_meta": {}}

    def get(self, path: str) -> tuple[int, float]:
        meta = self._meta.get(path)
        if meta is None:
            meta = self._probe(path)
            if meta[0] <= 0:
                raise VideoDecodeError(path, "video stream has no frames")
            self._meta[path] = meta
        return meta

    def set(self, path: str, meta: tuple[int, float]) -> None:
        self._meta[path] = meta


class CachedMetadataDecoder:
    """Shared ``num_frames``/``fps`` for backends that probe a file once into ``self._meta``
    (a :class:`MetadataCache` over the subclass's ``_probe(path) -> (frame_count, fps)``)."""

    _meta: MetadataCache

    def num_frames(self, path: str) -> int:
        """Frame count as this backend indexes the video."""
        return self._meta.get(str(path))[0]

    def fps(self, path: str) -> float:
        """Average frame rate."""
        return self._meta.get(str(path))[1]
