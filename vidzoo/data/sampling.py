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
    "MultiClipSampler",
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


class MultiClipSampler(ClipSampler):
    """``num_clips`` clips of ``clip_len`` frames spread over the whole video, each with its own temporal
    stride (the multi-clip, varying-stride sampling of Feichtenhofer et al. 2016's conv fusion).

    The video is split into ``num_clips`` equal segments and clip ``k`` is centred in segment ``k``.
    Training (``random=True``): each clip draws its stride uniformly from ``strides = (low, high)`` (inclusive)
    and its centre uniformly inside its segment. Testing: every clip uses the middle stride
    ``(low + high) // 2`` and sits at its segment's centre, so the clips are evenly spaced. A clip reaching past
    either end is shifted back inside; in a video too short for a stride the clip takes the largest stride that
    fits (at least 1), and a video shorter than ``clip_len`` frames is padded (``pad``).
    Output ``(1, num_clips * clip_len)``, clip-major, the layout of :class:`SequenceClipSampler`: models that
    read back-to-back clips (``cnn_lstm``) split it the same way.
    """

    def __init__(
        self, num_clips: int, clip_len: int, strides: tuple[int, int] = (5, 15), random: bool = True, pad: str = "loop"
    ) -> None:
        _check_positive(num_clips=num_clips, clip_len=clip_len, min_stride=strides[0])
        if pad not in _PAD_MODES:
            raise ValueError(f"pad must be one of {_PAD_MODES}, got {pad!r}")
        low, high = int(strides[0]), int(strides[1])
        if high < low:
            raise ValueError(f"strides must be (low, high) with low <= high, got {tuple(strides)}")
        self.num_clips, self.frames_per_clip, self.strides = int(num_clips), int(clip_len), (low, high)
        self.random, self.pad = bool(random), pad
        self.clip_len = self.num_clips * self.frames_per_clip

    def __call__(self, num_video_frames: int, rng: np.random.Generator | None = None) -> np.ndarray:
        if num_video_frames < 1:
            raise ValueError(f"a video needs at least one frame to sample from, got {num_video_frames}")
        k, n = self.num_clips, self.frames_per_clip
        bounds = np.linspace(0, num_video_frames, k + 1)
        if self.random:
            if rng is None:
                raise ValueError("MultiClipSampler(random=True) needs an rng")
            strides = rng.integers(self.strides[0], self.strides[1] + 1, size=k)
            centres = bounds[:-1] + rng.random(k) * (bounds[1:] - bounds[:-1])
        else:
            strides = np.full(k, sum(self.strides) // 2)
            centres = (bounds[:-1] + bounds[1:]) / 2
        if n > 1:
            strides = np.minimum(strides, max(1, (num_video_frames - 1) // (n - 1)))
        spans = (n - 1) * strides + 1
        starts = np.clip(np.floor(centres - spans / 2), 0, np.maximum(num_video_frames - spans, 0)).astype(np.int64)
        idx = starts[:, None] + np.arange(n, dtype=np.int64) * strides[:, None].astype(np.int64)
        return pad_indices(idx.reshape(1, -1), num_video_frames, self.pad)
