"""Clip samplers: shapes, index ranges, strides, padding and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from vidzoo.data.sampling import (
    MultiClipSampler,
    RandomClipSampler,
    SegmentSampler,
    SequenceClipSampler,
    UniformClipSampler,
    pad_indices,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_random_clip_range_stride_and_coverage():
    s = RandomClipSampler(8, stride=2)
    starts = set()
    for seed in range(300):
        idx = s(40, rng(seed))
        assert idx.shape == (1, 8) and idx.dtype == np.int64
        assert np.all(np.diff(idx[0]) == 2) and idx.min() >= 0 and idx.max() <= 39
        starts.add(int(idx[0, 0]))
    assert starts == set(range(0, 40 - 15 + 1))  # every valid start is reachable, none beyond


def test_random_clip_is_deterministic_given_rng():
    s = RandomClipSampler(4, stride=3)
    np.testing.assert_array_equal(s(100, rng(5)), s(100, rng(5)))
    assert any(not np.array_equal(s(100, rng(5)), s(100, rng(k))) for k in range(6, 10))


@pytest.mark.parametrize("pad, expected", [("loop", [0, 2, 4, 1, 3]), ("last", [0, 2, 4, 4, 4])])
def test_short_video_padding(pad, expected):
    idx = RandomClipSampler(5, stride=2, pad=pad)(5, rng())
    assert idx.tolist() == [expected]


def test_uniform_clips():
    s = UniformClipSampler(4, stride=2, num_clips=3)
    idx = s(50, rng())
    assert idx.shape == (3, 4)
    assert idx[0, 0] == 0 and idx[-1, -1] == 49  # first and last possible clips
    assert idx[1, 0] == (50 - 7) // 2 or abs(idx[1, 0] - (50 - 7) / 2) <= 0.5
    centre = UniformClipSampler(4, stride=2, num_clips=1)(50, rng())
    assert centre.tolist() == [[21, 23, 25, 27]]
    np.testing.assert_array_equal(s(50, rng(1)), s(50, rng(2)))  # no randomness


def test_uniform_clips_short_video_all_start_at_zero():
    idx = UniformClipSampler(4, stride=1, num_clips=2, pad="last")(3, rng())
    assert idx.tolist() == [[0, 1, 2, 2], [0, 1, 2, 2]]


def test_multiclip_spreads_clips_with_their_own_strides():
    s = MultiClipSampler(3, 4, strides=(5, 15), random=True)
    seen = set()
    for seed in range(20):
        idx = s(300, rng(seed))
        assert idx.shape == (1, 12) and idx.min() >= 0 and idx.max() < 300
        clips = idx.reshape(3, 4)
        steps = np.diff(clips, axis=1)
        assert (steps == steps[:, :1]).all() and ((steps >= 5) & (steps <= 15)).all()  # one stride per clip
        assert (clips[1:, 0] > clips[:-1, 0]).all()  # clips in temporal order, across the video
        seen.add(tuple(steps[:, 0]))
        assert np.array_equal(idx, s(300, rng(seed)))  # deterministic given the generator
    assert len(seen) > 10  # the strides vary between clips and draws
    test = MultiClipSampler(3, 4, strides=(5, 15), random=False)(300)
    assert test.tolist() == [[34, 44, 54, 64, 134, 144, 154, 164, 234, 244, 254, 264]]  # middle stride 10, centred
    short = MultiClipSampler(2, 4, strides=(5, 15), random=False)(10)  # stride 10 does not fit: largest that does
    assert short.tolist() == [[0, 3, 6, 9, 0, 3, 6, 9]]
    with pytest.raises(ValueError, match="low <= high"):
        MultiClipSampler(2, 4, strides=(9, 3))


def test_segment_sampler_train_and_test():
    s = SegmentSampler(4, frames_per_segment=2, random=True)
    for seed in range(50):
        idx = s(41, rng(seed))
        assert idx.shape == (1, 8)
        pairs = idx.reshape(4, 2)
        assert np.all(pairs[:, 1] == pairs[:, 0] + 1)
        bounds = np.floor(np.linspace(0, 41, 5)).astype(int)
        assert np.all(pairs[:, 0] >= bounds[:-1]) and np.all(pairs[:, 1] < bounds[1:])
    test = SegmentSampler(4, frames_per_segment=1, random=False)(40, rng())
    assert test.tolist() == [[4, 14, 24, 34]]  # segment centres
    assert len({tuple(s(41, rng(k))[0]) for k in range(20)}) > 1


def test_segment_sampler_fewer_frames_than_segments():
    idx = SegmentSampler(8, random=False, pad="last")(3, rng())
    assert idx.shape == (1, 8) and idx.min() >= 0 and idx.max() <= 2
    assert np.all(np.diff(idx[0]) >= 0)


def test_sequence_clips():
    s = SequenceClipSampler(num_clips=3, clip_len=4, stride=2, random=True)
    assert s.clip_len == 12 and s.frames_per_clip == 4
    idx = s(100, rng(0))
    assert idx.shape == (1, 12) and np.all(np.diff(idx[0]) == 2) and idx.max() <= 99
    centre = SequenceClipSampler(2, 3, random=False)(10, rng())
    assert centre.tolist() == [[2, 3, 4, 5, 6, 7]]


def test_pad_indices_and_errors():
    assert pad_indices(np.array([3, 4, 5]), 4, "loop").tolist() == [3, 0, 1]
    assert pad_indices(np.array([3, 4, 5]), 4, "last").tolist() == [3, 3, 3]
    with pytest.raises(ValueError, match="pad must be"):
        RandomClipSampler(4, pad="mirror")
    with pytest.raises(ValueError, match="num_frames must be >= 1"):
        RandomClipSampler(0)
    with pytest.raises(ValueError, match="at least one frame"):
        RandomClipSampler(4)(0, rng())
