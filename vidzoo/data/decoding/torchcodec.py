"""torchcodec decoding backend (``torchcodec.decoders.VideoDecoder``).

torchcodec is optional and loads the system FFmpeg libraries at import: ``pip install torchcodec`` and
``apt-get install ffmpeg`` (FFmpeg 4-7). Uses ``seek_mode="approximate"`` (frame positions from the header,
no full scan at open), which is exact for constant-frame-rate files such as UCF101 and HMDB51.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder
from vidzoo.data.decoding._common import CachedMetadataDecoder, MetadataCache, check_file, wanted_indices

try:
    from torchcodec.decoders import VideoDecoder as _VideoDecoder
except ImportError as err:
    raise ImportError(
        "the 'torchcodec' backend needs torchcodec and the FFmpeg shared libraries: "
        "pip install torchcodec && apt-get install ffmpeg"
    ) from err
except (OSError, RuntimeError) as err:  # torchcodec is installed but cannot load libavcodec & co.
    raise ImportError(
        f"torchcodec cannot load the FFmpeg libraries ({err}); install them: apt-get install ffmpeg"
    ) from err

__all__ = ["TorchCodecDecoder"]


@register_decoder("torchcodec")
class TorchCodecDecoder(CachedMetadataDecoder):
    """Decode frames by index with torchcodec on the CPU.

    Args:
        threads: FFmpeg decoding threads per decoder.
        seek_mode: ``"approximate"`` (fast open) or ``"exact"`` (scans the file once at open; for
            variable-frame-rate files).
    """

    def __init__(self, threads: int = 1, seek_mode: str = "approximate") -> None:
        self.threads = int(threads)
        self.seek_mode = seek_mode
        self._meta = MetadataCache(self._probe)

    def _open(self, path: str):
        check_file(path)
        try:
            return _VideoDecoder(path, dimension_order="NHWC", num_ffmpeg_threads=self.threads,
                                 seek_mode=self.seek_mode)
        except (RuntimeError, ValueError) as err:
            raise VideoDecodeError(path, f"torchcodec cannot open it ({err})") from err

    def _probe(self, path: str) -> tuple[int, float]:
        meta = self._open(path).metadata
        return int(meta.num_frames or 0), float(meta.average_fps or 25.0)

    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 ``(len(indices), H, W, 3)`` RGB; indices past the end get the last frame."""
        path = str(path)
        idx, wanted = wanted_indices(path, indices)
        decoder = self._open(path)
        count = int(decoder.metadata.num_frames or 0)
        if count <= 0:
            raise VideoDecodeError(path, "video stream has no frames")
        self._meta.set(path, (count, float(decoder.metadata.average_fps or 25.0)))
        uniq = np.unique(np.minimum(wanted, count - 1))
        try:
            frames = decoder.get_frames_at(indices=uniq.tolist()).data.numpy()
        except (RuntimeError, IndexError, ValueError) as err:
            raise VideoDecodeError(path, f"decoding failed ({err})") from err
        pos = np.searchsorted(uniq, np.minimum(idx, count - 1))
        return np.ascontiguousarray(frames[pos])
