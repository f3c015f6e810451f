"""Clip samplers: which frame indices of a video form the clip(s) a model sees.

A sampler is called as ``sampler(num_video_frames, rng) -> np.ndarray`` int64 ``(num_views, clip_len)``;
``rng`` is a ``np.random.Generator`` (deterministic samplers ignore it). Clips that need more frames than the
video has are padded: ``pad="loop"`` wraps around to the start, ``pad="last"`` repeats the last frame.
Samplers hold no state, so they work the same in the trainer, in DataLoader workers and in scripts::

    >>> RandomClipSampler(num_frames=8, stride=2)(32, np.random.default_rng(0)).shape
    (1, 8)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ClipSampler",
    "DenseClipSampler",
    "RandomClipSampler",
    "SegmentSampler",
    "SequenceClipSampler",
    "UniformClipSampler",
    "pad_indices",
]

_PAD_MODES = ("loop", "last")


def pad_indices(indices: np.ndarray, num_video_frames: int, pad: str) -> np.ndarray:
    """Map indices ``>= num_video_frames`` back into the video: wrap around (``"loop"``) or clamp (``"last"``)."""
    if num_video_frames < 1:
        raise ValueError(f"a video needs at least one frame to sample from, got {num_video_frames}")
    if pad == "loop":
        return np.mod(indices, num_video_frames).astype(np.int64)
    if pad == "last":
        return np.minimum(indices, num_video_frames - 1).astype(np.int64)
    raise ValueError(f"pad must be one of {_PAD_MODES}, got {pad!r}")


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


class ClipSampler:
    """Base class: ``num_views`` clips of ``clip_len`` indices each."""

    num_views: int = 1
    clip_len: int = 1

    def __call__(self, num_video_frames: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class _StridedClips(ClipSampler):
    """Shared logic for samplers of ``num_frames`` frames ``stride`` apart."""

    def __init__(self, num_frames: int, stride: int = 1, pad: str = "loop") -> None:
        _check_positive(num_frames=num_frames, stride=stride)
        if pad not in _PAD_MODES:
            raise ValueError(f"pad must be one of {_PAD_MODES}, got {pad!r}")
        self.num_frames, self.stride, self.pad = int(num_frames), int(stride), pad
        self.clip_len = self.num_frames

    @property
    def span(self) -> int:
        """Frames one clip covers, first to last inclusive."""
        return (self.num_frames - 1) * self.stride + 1

    def _clips(self, starts: np.ndarray, num_video_frames: int) -> np.ndarray:
        idx = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(self.num_frames, dtype=np.int64) * self.stride
        return pad_indices(idx, num_video_frames, self.pad)


class RandomClipSampler(_StridedClips):
    """Training: one clip at a uniformly random start. Output ``(1, num_frames)``."""

    def __call__(self, num_video_frames: int, rng: np.random.Generator) -> np.ndarray:
        max_start = max(0, num_video_frames - self.span)
        return self._clips(np.array([rng.integers(0, max_start + 1)]), num_video_frames)


class UniformClipSampler(_StridedClips):
    """Testing: ``num_clips`` clips with evenly spaced starts from the first to the last possible start
    (one clip: the centre clip). Output ``(num_clips, num_frames)``."""

    def __init__(self, num_frames: int, stride: int = 1, num_clips: int = 1, pad: str = "loop") -> None:
        super().__init__(num_frames, stride, pad)
        _check_positive(num_clips=num_clips)
        self.num_clips = self.num_views = int(num_clips)

    def __call__(self, num_video_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        max_start = max(0, num_video_frames - self.span)
        if self.num_clips == 1:
            starts = np.array([max_start // 2])
        else:
            starts = np.round(np.linspace(0, max_start, self.num_clips)).astype(np.int64)
        return self._clips(starts, num_video_frames)


class DenseClipSampler(_StridedClips):
    """Every clip whose start is a multiple of ``step`` (default: back-to-back clips), e.g. C3D feature
    extraction with 16-frame clips and ``step=8``. Output ``(num_clips, num_frames)``, ``num_clips`` depending
    on the video length (at least one, padded when the video is shorter than a clip)."""

    def __init__(self, num_frames: int, stride: int = 1, step: int | None = None, pad: str = "loop") -> None:
        super().__init__(num_frames, stride, pad)
        self.step = self.span if step is None else int(step)
        _check_positive(step=self.step)
        self.num_views = -1  # varies per video

    def __call__(self, num_video_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        max_start = max(0, num_video_frames - self.span)
        return self._clips(np.arange(0, max_start + 1, self.step), num_video_frames)


class SegmentSampler(ClipSampler):
    """TSN-style: split the video into ``num_segments`` equal segments and take ``frames_per_segment``
    consecutive frames from each, at a random position (``random=True``, training) or the segment centre
    (testing). Output ``(1, num_segments * frames_per_segment)``, segment-major."""

    def __init__(self, num_segments: int, frames_per_segment: int = 1, random: bool = True, pad: str = "loop") -> None:
        _check_positive(num_segments=num_segments, frames_per_segment=frames_per_segment)
        if pad not in _PAD_MODES:
            raise ValueError(f"pad must be one of {_PAD_MODES}, got {pad!r}")
        self.num_segments, self.frames_per_segment = int(num_segments), int(frames_per_segment)
        self.random, self.pad = bool(random), pad
        self.clip_len = self.num_segments * self.frames_per_segment

    def __call__(self, num_video_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        if num_video_frames < 1:
            raise ValueError(f"a video needs at least one frame to sample from, got {num_video_frames}")
        bounds = np.linspace(0, num_video_frames, self.num_segments + 1)
        seg_start = np.floor(bounds[:-1]).astype(np.int64)
        room = np.maximum(np.floor(bounds[1:]).astype(np.int64) - seg_start - self.frames_per_segment, 0)
        if self.random:
            if rng is None:
                raise ValueError("SegmentSampler(random=True) needs an rng")
            offsets = np.floor(rng.random(self.num_segments) * (room + 1)).astype(np.int64)
        else:
            offsets = room // 2
        idx = (seg_start + offsets)[:, None] + np.arange(self.frames_per_segment, dtype=np.int64)
        return pad_indices(idx.reshape(1, -1), num_video_frames, self.pad)


class SequenceClipSampler(ClipSampler):
    """``num_clips`` back-to-back clips of ``clip_len`` frames (3D CNN + LSTM), starting at a random
    (``random=True``) or centred position. Output ``(1, num_clips * clip_len)``: the model splits it into
    clips itself."""

    def __init__(self, num_clips: int, clip_len: int, stride: int = 1, random: bool = True, pad: str = "loop") -> None:
        _check_positive(num_clips=num_clips, clip_len=clip_len, stride=stride)
        if pad not in _PAD_MODES:
            raise ValueError(f"pad must be one of {_PAD_MODES}, got {pad!r}")
        self.num_clips, self.stride, self.random, self.pad = int(num_clips), int(stride), bool(random), pad
        self.clip_len = self.num_clips * int(clip_len)
        self.frames_per_clip = int(clip_len)

    def __call__(self, num_video_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        span = (self.clip_len - 1) * self.stride + 1
        max_start = max(0, num_video_frames - span)
        if self.random:
            if rng is None:
                raise ValueError("SequenceClipSampler(random=True) needs an rng")
            start = int(rng.integers(0, max_start + 1))
        else:
            start = max_start // 2
        idx = start + np.arange(self.clip_len, dtype=np.int64) * self.stride
        return pad_indices(idx[None, :], num_video_frames, self.pad)
