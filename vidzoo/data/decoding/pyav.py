"""PyAV (FFmpeg) decoding backend, the default.

Decodes only the frames a clip needs: it seeks to the keyframe before the first wanted frame (when that frame
is far enough in) and stops after the last one. Seeking goes by time, so a variable-frame-rate stream is decoded
from the start and its frames counted (the shared semantics in ``_common``: frame ``i`` is the ``i``-th frame). The RGB conversion runs on one thread, which on a 2-core
machine is ~1.6x faster than swscale's automatic threading (see ``shared/MEASURED.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import av
import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder
from vidzoo.data.decoding._common import (
    SeekingDecoder,
    StreamInfo,
    describe,
    open_container,
    wanted_indices,
)

__all__ = ["PyAVDecoder"]


@register_decoder("pyav")
class PyAVDecoder(SeekingDecoder):
    """Decode frames by index with PyAV.

    Args:
        threads: codec threads per decode call (1 is best inside DataLoader workers).
        seek_threshold: seek instead of decoding from the start when the first wanted frame is at least this
            many frames in.
        truncation_tolerance: if the stream ends more than this many frames (or 10% of the header's count,
            whichever is larger) before the count the container header reports, the file is treated as
            truncated and a ``VideoDecodeError`` is raised; smaller shortfalls (headers that are slightly
            wrong) are padded with the last decoded frame.
    """

    # -- decoding ---------------------------------------------------------------------------------------
    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 ``(len(indices), H, W, 3)`` RGB.

        Indices past the real end of the stream are filled with the last frame (headers can overcount by a
        frame or two); a stream that ends far before its header's count raises ``VideoDecodeError``.
        """
        path = str(path)
        idx, wanted = wanted_indices(path, indices)
        info = self._meta.get(path)
        seek = info.cfr and int(wanted[0]) >= self.seek_threshold
        got, end, last_rgb = self._decode_sorted(path, wanted, info, seek=seek)
        if end is not None:  # reached the end of the stream: now the true frame count is known
            self._meta.reached_end(path, end, self.truncation_tolerance)
            for w in wanted:
                got.setdefault(int(w), last_rgb)
        return np.stack([got[int(i)] for i in idx])

    def _decode_sorted(
        self, path: str, wanted: np.ndarray, info: StreamInfo, seek: bool
    ) -> tuple[dict[int, np.ndarray], int | None, np.ndarray | None]:
        """Decode the sorted unique ``wanted`` frames. A constant-rate stream indexes frames by timestamp (so a
        seek knows where it landed), any other by counting them.

        Returns (index -> RGB for the frames reached, the stream's frame count if decoding hit the end else
        None, the last frame's RGB if decoding hit the end else None).
        """
        first, last = int(wanted[0]), int(wanted[-1])
        wanted_set = {int(w) for w in wanted}
        got: dict[int, np.ndarray] = {}
        fps = info.fps
        with open_container(path) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = self.threads
            start = stream.start_time or 0
            tb = float(stream.time_base) if stream.time_base is not None else None
            if seek and tb:
                try:
                    container.seek(start + int(first / fps / tb), stream=stream, backward=True, any_frame=False)
                except av.FFmpegError:
                    return self._decode_sorted(path, wanted, info, seek=False)
            n, prev_i, last_frame = 0, -1, None
            for frame in self._frames(container, stream, path):
                if info.cfr and frame.pts is not None and tb:
                    i = int(round((frame.pts - start) * tb * fps))
                elif seek:  # no timestamps: only counting from the start tells the index
                    return self._decode_sorted(path, wanted, info, seek=False)
                else:
                    i = n
                n += 1
                if seek and last_frame is None and i > first:  # the seek overshot the wanted frame
                    return self._decode_sorted(path, wanted, info, seek=False)
                if i <= prev_i:  # repeated timestamp: keep the first frame shown for that index
                    continue
                last_frame = frame
                # indices the timestamps skip (a dropped frame in a constant-rate stream) take the next frame shown
                needed = [w for w in range(max(prev_i + 1, first), i + 1) if w in wanted_set]
                prev_i = i
                if needed:
                    rgb = frame.reformat(format="rgb24", threads=1).to_ndarray()
                    for w in needed:
                        got[w] = rgb
                if i >= last:
                    return got, None, None
        if last_frame is None:
            if seek:
                return self._decode_sorted(path, wanted, info, seek=False)
            raise VideoDecodeError(path, "no decodable video frames")
        last_rgb = got.get(prev_i)
        if last_rgb is None:
            last_rgb = last_frame.reformat(format="rgb24", threads=1).to_ndarray()
        return got, prev_i + 1, last_rgb

    @staticmethod
    def _frames(container, stream, path: str):
        try:
            yield from container.decode(stream)
        except (av.FFmpegError, EOFError) as err:
            raise VideoDecodeError(path, f"decoding failed ({describe(err)})") from err
