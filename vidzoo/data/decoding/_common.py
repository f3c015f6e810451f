"""What every video backend agrees on, and the small pieces they share.

The agreed semantics (``tests/test_data_decoder_agreement.py`` holds every installed backend to them):

- **Valid video**: the file exists, is not empty, opens, has a video stream and that stream has at least one
  frame. Anything else (an audio-only file, a zero-frame stream, garbage) is a one-line
  :class:`VideoDecodeError` naming the file. Size, pixel format and length do not matter: a 1x1, a grayscale
  or a 3-frame video is valid (samplers pad short videos by ``loop``/``last``).
- **Frame index**: frame ``i`` is the ``i``-th frame of the first video stream in presentation order, whatever
  its timestamp, so a variable-frame-rate (VFR) file indexes alike on every backend. ``fps`` is the average
  rate (frames / duration); it only converts a record's start/end seconds to indices.
- **Frame count**: :func:`probe_video` reads it from the container header, or counts the stream's packets when
  the header has none. A header may overcount by a little: indices past the real end repeat the last frame and
  ``num_frames`` is corrected. A stream that ends more than ``max(tolerance, 10%)`` frames before the count its
  header states is **truncated**: :func:`check_reached_end` raises, no backend pads it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from vidzoo.data.decoding import VideoDecodeError

DEFAULT_FPS = 25.0
TRUNCATION_TOLERANCE = 2  # frames a header may overcount before the file counts as truncated


@dataclass(frozen=True)
class StreamInfo:
    """The first video stream of a file, as every backend indexes it.

    Attributes:
        frames: number of frames (the header's count, or the counted packets when it has none).
        fps: average frame rate.
        from_header: ``frames`` is the container's own count (a stream ending well before it is truncated).
        cfr: constant frame rate: frame ``i`` is shown at ``i / fps``, so a backend may seek by time.
    """

    frames: int
    fps: float
    from_header: bool
    cfr: bool


def check_file(path: str) -> None:
    """Raise :class:`VideoDecodeError` for a missing or zero-byte file (before a library prints C++ noise)."""
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "empty file (0 bytes)")


def open_container(path: str):
    """Open ``path`` with PyAV; a missing, empty, unreadable or audio-only file raises :class:`VideoDecodeError`."""
    check_file(path)
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, OSError) as err:
        raise VideoDecodeError(path, f"cannot open ({describe(err)})") from err
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(path, "no video stream (audio-only or not a video file)")
    return container


def describe(err: BaseException) -> str:
    """A library's reason without the file name it may append (VideoDecodeError already leads with it)."""
    return f"{type(err).__name__}: {getattr(err, 'strerror', None) or err}"


def probe_video(path: str) -> StreamInfo:
    """Read the frame count and rate of ``path``'s first video stream from its headers (PyAV, no decoding).

    When the header has no frame count, or its rates disagree (a VFR file), the stream's packets are counted and
    their timestamps tell whether the rate is constant; demuxing reads the file but decodes nothing.
    """
    with open_container(path) as container:
        stream = container.streams.video[0]
        header, avg = int(stream.frames or 0), stream.average_rate
        guessed = stream.guessed_rate or stream.base_rate
        if header > 0 and avg and guessed and abs(float(avg) - float(guessed)) <= 0.01 * float(guessed):
            return StreamInfo(header, float(avg), True, True)
        pts: list[int] = []
        durations: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None:
                    pts.append(int(packet.pts))
                    durations.append(int(packet.duration or 0))
        except (av.FFmpegError, EOFError) as err:
            raise VideoDecodeError(path, f"cannot read the video stream ({describe(err)})") from err
        tb = stream.time_base or Fraction(1, 1)
    count = header or len(pts)
    if count <= 0:
        raise VideoDecodeError(path, "video stream has no frames")
    order = np.argsort(pts) if pts else np.zeros(0, np.int64)
    steps = np.diff(np.asarray(pts, np.int64)[order])
    cfr = steps.size == 0 or int(steps.max() - steps.min()) <= 1
    fps = float(avg) if cfr and avg else 0.0
    if not fps and pts:
        span = (int(np.asarray(pts)[order[-1]]) + max(durations[int(order[-1])], 0) - min(pts)) * float(tb)
        fps = len(pts) / span if span > 0 else 0.0
    return StreamInfo(count, fps or float(avg or 0) or DEFAULT_FPS, header > 0, cfr)


def is_truncated(header_frames: int, end: int, tolerance: int = TRUNCATION_TOLERANCE) -> bool:
    """Whether a stream holding ``end`` frames falls short of the ``header_frames`` its header states by more
    than a wrong header explains (``max(tolerance, 10%)``)."""
    return header_frames - end > max(tolerance, header_frames // 10)


def check_reached_end(path: str, info: StreamInfo, end: int, tolerance: int = TRUNCATION_TOLERANCE) -> None:
    """Raise the agreed "truncated" error when a stream holding ``end`` frames falls short of its header."""
    if end <= 0:
        raise VideoDecodeError(path, "no decodable video frames")
    if info.from_header and is_truncated(info.frames, end, tolerance):
        raise VideoDecodeError(path, f"truncated: the header reports {info.frames} frames but the stream ends "
                                     f"after {end}")


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


def take_clamped(frames: np.ndarray, uniq: np.ndarray, idx: np.ndarray, count: int) -> np.ndarray:
    """``frames[k]`` holds frame ``uniq[k]`` (sorted, clamped to ``count - 1``): the frames at ``idx``, an index
    past the end getting the last one, as a contiguous ``(len(idx), H, W, C)`` array."""
    pos = np.searchsorted(uniq, np.minimum(idx, count - 1))
    return np.ascontiguousarray(frames[pos])


class MetadataCache:
    """Per-process cache ``path -> StreamInfo`` (and the files found truncated, which then fail at once);
    dropped when pickled into DataLoader workers."""

    def __init__(self, probe: Callable[[str], StreamInfo] = probe_video) -> None:
        self._probe = probe
        self._meta: dict[str, StreamInfo] = {}
        self._broken: dict[str, str] = {}

    def __getstate__(self) -> dict:
        return {"_probe": self._probe, "_meta": {}, "_broken": {}}

    def get(self, path: str) -> StreamInfo:
        if path in self._broken:
            raise VideoDecodeError(path, self._broken[path])
        meta = self._meta.get(path)
        if meta is None:
            meta = self._probe(path)
            if meta.frames <= 0:
                raise VideoDecodeError(path, "video stream has no frames")
            self._meta[path] = meta
        return meta

    def reached_end(self, path: str, end: int, tolerance: int = TRUNCATION_TOLERANCE) -> None:
        """The stream holds ``end`` frames: raise if that makes it truncated, else remember the real count."""
        info = self.get(path)
        try:
            check_reached_end(path, info, end, tolerance)
        except VideoDecodeError as err:
            self._broken[path] = err.reason
            raise
        self._meta[path] = dataclasses.replace(info, frames=end)


class CachedMetadataDecoder:
    """Shared ``num_frames``/``fps`` for backends that probe a file once into ``self._meta``
    (a :class:`MetadataCache`, by default over :func:`probe_video`)."""

    _meta: MetadataCache

    def num_frames(self, path: str) -> int:
        """Number of frames (the header's count until a decode finds the real end)."""
        return self._meta.get(str(path)).frames

    def fps(self, path: str) -> float:
        """Average frame rate."""
        return self._meta.get(str(path)).fps


class SeekingDecoder(CachedMetadataDecoder):
    """The constructor the pyav and opencv decoders share: codec ``threads``, the frame index from which a decode
    seeks instead of reading from the start (``seek_threshold``), and how many frames a header may over-count
    before the file is truncated (``truncation_tolerance``); see each decoder's Args."""

    def __init__(self, threads: int = 1, seek_threshold: int = 12,
                 truncation_tolerance: int = TRUNCATION_TOLERANCE) -> None:
        self.threads = int(threads)
        self.seek_threshold = int(seek_threshold)
        self.truncation_tolerance = int(truncation_tolerance)
        self._meta = MetadataCache()
