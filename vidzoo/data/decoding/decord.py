"""decord decoding backend (``decord.VideoReader``, which seeks to keyframes itself).

decord is optional (``pip install decord``); it ships CPU wheels for x86-64 Linux only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder
from vidzoo.data.decoding._common import CachedMetadataDecoder, MetadataCache, check_file, wanted_indices

try:
    import decord as _decord
except ImportError as err:  # build_decoder turns this into "install its dependency or pick another decoder"
    raise ImportError("the 'decord' backend needs the decord package: pip install decord") from err

__all__ = ["DecordDecoder"]


@register_decoder("decord")
class DecordDecoder(CachedMetadataDecoder):
    """Decode frames by index with decord.

    Args:
        threads: decoding threads per reader (0 = decord's automatic choice).
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = int(threads)
        self._meta = MetadataCache(self._probe)

    def _open(self, path: str):
        check_file(path)
        try:
            return _decord.VideoReader(path, ctx=_decord.cpu(0), num_threads=self.threads)
        except (_decord.DECORDError, RuntimeError) as err:
            raise VideoDecodeError(path, f"decord cannot open it ({err.__class__.__name__}: {err})") from err

    def _probe(self, path: str) -> tuple[int, float]:
        reader = self._open(path)
        return len(reader), float(reader.get_avg_fps()) or 25.0

    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 ``(len(indices), H, W, 3)`` RGB; indices past the end get the last frame."""
        path = str(path)
        idx, wanted = wanted_indices(path, indices)
        reader = self._open(path)
        count = len(reader)
        if count <= 0:
            raise VideoDecodeError(path, "video stream has no frames")
        self._meta.set(path, (count, float(reader.get_avg_fps()) or 25.0))
        wanted = np.minimum(wanted, count - 1)
        uniq = np.unique(wanted)
        try:
            frames = reader.get_batch(uniq.tolist()).asnumpy()
        except (_decord.DECORDError, RuntimeError, IndexError) as err:
            raise VideoDecodeError(path, f"decoding failed ({err.__class__.__name__}: {err})") from err
        pos = np.searchsorted(uniq, np.minimum(idx, count - 1))
        return np.ascontiguousarray(frames[pos])
