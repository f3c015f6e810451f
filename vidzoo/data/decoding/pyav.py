"""PyAV (FFmpeg) decoding backend, the default.

Decodes only the frames a clip needs: it seeks to the keyframe before the first wanted frame (when that frame
is far enough in) and stops after the last one. The RGB conversion runs on one thread, which on a 2-core
machine is ~1.6x faster than swscale's automatic threading (see ``shared/MEASURED.md``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import av
import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder

__all__ = ["PyAVDecoder"]


@register_decoder("pyav")
class PyAVDecoder:
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

    def __init__(self, threads: int = 1, seek_threshold: int = 12, truncation_tolerance: int = 2) -> None:
        self.threads = int(threads)
        self.seek_threshold = int(seek_threshold)
        self.truncation_tolerance = int(truncation_tolerance)
        self._meta: dict[str, tuple[int, float, bool]] = {}  # path -> (frames, fps, count_is_from_header)
        self._broken: dict[str, str] = {}  # path -> why it is known to be truncated

    def __getstate__(self) -> dict:
        return self.__dict__ | {"_meta": {}, "_broken": {}}  # each worker rebuilds its own cache

    # -- metadata ---------------------------------------------------------------------------------------
    def num_frames(self, path: str) -> int:
        """Frame count (from the header; corrected after a decode finds the real end)."""
        return self._metadata(str(path))[0]

    def fps(self, path: str) -> float:
        """Average frame rate."""
        return self._metadata(str(path))[1]

    def _metadata(self, path: str) -> tuple[int, float, bool]:
        meta = self._meta.get(path)
        if meta is None:
            with self._open(path) as container:
                stream = container.streams.video[0]
                fps = _stream_fps(stream)
                count, exact = int(stream.frames or 0), True
                if count <= 0:  # header lacks a count: estimate from the duration, else count by decoding
                    exact = False
                    if stream.duration is not None and stream.time_base is not None:
                        count = int(round(float(stream.duration * stream.time_base) * fps))
                    elif container.duration is not None:
                        count = int(round(container.duration / av.time_base * fps))
                    if count <= 0:
                        count = sum(1 for _ in self._frames(container, stream, path))
                if count <= 0:
                    raise VideoDecodeError(path, "video stream has no frames")
                meta = (count, fps, exact)
            self._meta[path] = meta
        return meta

    # -- decoding ---------------------------------------------------------------------------------------
    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 ``(len(indices), H, W, 3)`` RGB.

        Indices past the real end of the stream are filled with the last frame (headers can overcount by a
        frame or two); a stream that ends far before its header's count raises ``VideoDecodeError``.
        """
        path = str(path)
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            raise ValueError(f"{path}: decode() needs at least one frame index")
        if idx.min() < 0:
            raise ValueError(f"{path}: negative frame index {int(idx.min())}")
        if path in self._broken:
            raise VideoDecodeError(path, self._broken[path])
        count, fps, exact = self._metadata(path)
        wanted = np.unique(idx)
        got, end, last_rgb = self._decode_sorted(path, wanted, fps, seek=int(wanted[0]) >= self.seek_threshold)
        if end is not None:  # reached the end of the stream: now the true frame count is known
            if exact and count - end > max(self.truncation_tolerance, count // 10):
                self._broken[path] = f"truncated: the header reports {count} frames but the stream ends after {end}"
                raise VideoDecodeError(path, self._broken[path])
            self._meta[path] = (end, fps, exact)
            for w in wanted:
                got.setdefault(int(w), last_rgb)
        return np.stack([got[int(i)] for i in idx])

    def _decode_sorted(
        self, path: str, wanted: np.ndarray, fps: float, seek: bool
    ) -> tuple[dict[int, np.ndarray], int | None, np.ndarray | None]:
        """Decode the sorted unique ``wanted`` frames.

        Returns (index -> RGB for the frames reached, the stream's frame count if decoding hit the end else
        None, the last frame's RGB if decoding hit the end else None).
        """
        first, last = int(wanted[0]), int(wanted[-1])
        wanted_set = {int(w) for w in wanted}
        got: dict[int, np.ndarray] = {}
        with self._open(path) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = self.threads
            start = stream.start_time or 0
            tb = float(stream.time_base) if stream.time_base is not None else None
            if seek and tb:
                try:
                    container.seek(start + int(first / fps / tb), stream=stream, backward=True, any_frame=False)
                except av.FFmpegError:
                    return self._decode_sorted(path, wanted, fps, seek=False)
            n, prev_i, last_frame = 0, -1, None
            for frame in self._frames(container, stream, path):
                if frame.pts is not None and tb:
                    i = int(round((frame.pts - start) * tb * fps))
                elif seek:  # no timestamps: only counting from the start tells the index
                    return self._decode_sorted(path, wanted, fps, seek=False)
                else:
                    i = n
                n += 1
                if seek and last_frame is None and i > first:  # the seek overshot the wanted frame
                    return self._decode_sorted(path, wanted, fps, seek=False)
                if i <= prev_i:  # repeated timestamp: keep the first frame shown for that index
                    continue
                last_frame = frame
                # indices the timestamps skipped (variable frame rate) take the next frame shown
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
                return self._decode_sorted(path, wanted, fps, seek=False)
            raise VideoDecodeError(path, "no decodable video frames")
        last_rgb = got.get(prev_i)
        if last_rgb is None:
            last_rgb = last_frame.reformat(format="rgb24", threads=1).to_ndarray()
        return got, prev_i + 1, last_rgb

    # -- helpers ----------------------------------------------------------------------------------------
    @staticmethod
    def _open(path: str):
        if not os.path.isfile(path):
            raise VideoDecodeError(path, "file not found")
        if os.path.getsize(path) == 0:
            raise VideoDecodeError(path, "empty file (0 bytes)")
        try:
            container = av.open(path, metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError, OSError) as err:
            raise VideoDecodeError(path, f"cannot open ({_describe(err)})") from err
        if not container.streams.video:
            container.close()
            raise VideoDecodeError(path, "no video stream")
        return container

    @staticmethod
    def _frames(container, stream, path: str):
        try:
            yield from container.decode(stream)
        except (av.FFmpegError, EOFError) as err:
            raise VideoDecodeError(path, f"decoding failed ({_describe(err)})") from err


def _describe(err: BaseException) -> str:
    """FFmpeg's reason without the file name PyAV appends (VideoDecodeError already leads with it)."""
    return f"{type(err).__name__}: {getattr(err, 'strerror', None) or err}"


def _stream_fps(stream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 25.0
