"""torchcodec decoding backend (``torchcodec.decoders.VideoDecoder``).

torchcodec is optional and loads the system FFmpeg libraries at import: ``pip install torchcodec`` and
``apt-get install ffmpeg`` (FFmpeg 4-7). Uses ``seek_mode="approximate"`` (frame positions from the header,
no full scan at open) for constant-frame-rate files such as UCF101 and HMDB51, and ``"exact"`` (one scan of the
file at open, frames in stream order) for variable-frame-rate files and to find the real end of a stream that
stops before its header's count (then ``_common``'s truncation rule decides: pad a little or fail).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder
from vidzoo.data.decoding._common import (
    CachedMetadataDecoder,
    MetadataCache,
    StreamInfo,
    check_file,
    take_clamped,
    wanted_indices,
)

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
        seek_mode: ``"approximate"`` (fast open) or ``"exact"`` (scans the file once at open) for constant-rate
            files; variable-frame-rate files always use ``"exact"``.
    """

    def __init__(self, threads: int = 1, seek_mode: str = "approximate") -> None:
        self.threads = int(threads)
        self.seek_mode = seek_mode
        self._meta = MetadataCache()

    def _open(self, path: str, seek_mode: str):
        check_file(path)
        try:
            return _VideoDecoder(path, dimension_order="NHWC", num_ffmpeg_threads=self.threads, seek_mode=seek_mode)
        except (RuntimeError, ValueError) as err:
            raise VideoDecodeError(path, f"torchcodec cannot open it ({err})") from err

    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 ``(len(indices), H, W, 3)`` RGB; indices past the end get the last frame."""
        path = str(path)
        idx, wanted = wanted_indices(path, indices)
        info = self._meta.get(path)  # the agreed checks (video stream, frames) before torchcodec's own messages
        return self._decode(path, idx, wanted, info, self.seek_mode if info.cfr else "exact")

    def _decode(self, path: str, idx: np.ndarray, wanted: np.ndarray, info: StreamInfo, mode: str) -> np.ndarray:
        decoder = self._open(path, mode)
        count = info.frames
        if mode == "exact":  # the scan at open counted the frames really there
            count = int(decoder.metadata.num_frames or 0)
            if count < info.frames:
                self._meta.reached_end(path, count)
        uniq = np.unique(np.minimum(wanted, count - 1))
        try:
            frames = decoder.get_frames_at(indices=uniq.tolist()).data.numpy()
        except (RuntimeError, IndexError, ValueError) as err:
            if mode != "exact":  # asked past the real end: an exact scan tells a short header from a truncated file
                return self._decode(path, idx, wanted, info, "exact")
            raise VideoDecodeError(path, f"decoding failed ({err})") from err
        return take_clamped(frames, uniq, idx, count)
