"""decord decoding backend (``decord.VideoReader``, which seeks to keyframes itself).

decord is optional (``pip install decord``); it ships CPU wheels for x86-64 Linux only. decord indexes frames in
stream order, as the shared semantics (``_common``) want; its reader holds as many frames as the file has packets,
so a truncated file is caught by comparing that with the header's count instead of padding it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder
from vidzoo.data.decoding._common import (
    CachedMetadataDecoder,
    MetadataCache,
    check_file,
    take_clamped,
    wanted_indices,
)

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
        self._meta = MetadataCache()

    def _open(self, path: str):
        check_file(path)
        try:
            return _decord.VideoReader(path, ctx=_decord.cpu(0), num_threads=self.threads)
        except (_decord.DECORDError, RuntimeError) as err:
            raise VideoDecodeError(path, f"decord cannot open it ({err.__class__.__name__}: {err})") from err

    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 ``(len(indices), H, W, 3)`` RGB; indices past the end get the last frame."""
        path = str(path)
        idx, wanted = wanted_indices(path, indices)
        info = self._meta.get(path)  # the agreed checks (video stream, frames) before decord's own messages
        reader = self._open(path)
        count = len(reader)
        if count < info.frames:  # decord knows the real end at open: a truncated file fails on any clip
            self._meta.reached_end(path, count)
        uniq = np.unique(np.minimum(wanted, count - 1))
        try:
            frames = reader.get_batch(uniq.tolist()).asnumpy()
        except (_decord.DECORDError, RuntimeError, IndexError):  # the batch copy fails on widths decord pads
            frames = np.stack([self._frame(path, reader, int(i)) for i in uniq])
        return take_clamped(frames, uniq, idx, count)

    @staticmethod
    def _frame(path: str, reader, index: int) -> np.ndarray:
        """Frame ``index`` as ``(H, W, 3)``: decord returns a padded row as ``(H, W, C')`` with ``W * C'`` bytes."""
        try:
            raw = reader[index].asnumpy()
        except (_decord.DECORDError, RuntimeError, IndexError) as err:
            raise VideoDecodeError(path, f"decoding failed ({err.__class__.__name__}: {err})") from err
        h, w = raw.shape[:2]
        return np.ascontiguousarray(raw).reshape(h, -1)[:, : w * 3].reshape(h, w, 3)
